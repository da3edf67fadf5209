# frozen_string_literal: true

require_relative "rails_helper"

# Mistakes a Rails developer makes are refused where they are made, naming them: at class load
# what needs no database, before the first crawl or enqueue the rest. Never a job that can only
# fail, nor one that "succeeds" doing nothing.
RSpec.describe "Mistakes refused before anything is crawled or enqueued", :rails do
  before do
    Site.delete_all
    ReportedError.delete_all
  end

  # SQL statements that read sites' rows or write them (schema reads are not counted).
  let(:row_queries) { /\A\s*(SELECT .*FROM "sites"|UPDATE "sites"|INSERT)/ }

  # Runs the block; returns [crawl.ucrawler_native events, row queries] it caused.
  def activity(&block)
    queries = 0
    crawls = events("crawl.ucrawler_native") { queries = count_queries(row_queries, &block) }
    [crawls.size, queries]
  end

  describe "at class load (no database needed)" do
    it "names an unknown page field in update:, an unknown option and a callback that is not a name" do
      queries = count_queries(/./) do
        expect { model("TitelSource") { crawls :url, update: { title: :titel } } }
          .to raise_error(ArgumentError, /unknown page field :titel.*known: .*title/)
        expect { model("DephtOption") { crawls :url, depht: 1 } }.to raise_error(ArgumentError, /depht/)
        expect { model("NumberCallback") { crawls :url, callback: 42 } }.to raise_error(ArgumentError, /callback: .*42/)
        expect { model("ArrayMapping") { crawls :url, update: [:title] } }.to raise_error(ArgumentError, /mapping/)
      end
      expect(queries).to eq(0)
    end
  end

  describe "before the first crawl or enqueue" do
    it "names a URL column the table lacks, listing its columns, in every method" do
      create_sites(2)
      linked = model("Linked") { crawls :link }

      crawls, queries = activity do
        [-> { linked.crawl { nil } }, -> { linked.crawl_ids { nil } }, -> { linked.crawl_and_update(title: :title) },
         -> { linked.crawl_later(with: "callback") }].each do |call|
          expect(&call).to raise_error(UcrawlerNative::ConfigError, /Linked has no column "link".*columns: id, url, title/)
        end
      end
      expect([crawls, queries]).to eq([0, 0])
    end

    it "names a column of update: the table lacks" do
      create_sites(1)
      mapped = model("Titel") { crawls :url, update: { titel: :title } }

      crawls, queries = activity do
        expect { mapped.crawl_and_update }.to raise_error(UcrawlerNative::Error, /no column "titel"/)
        expect { mapped.crawl_later }.to raise_error(UcrawlerNative::Error, /no column "titel"/)
        expect { mapped.crawl_ids { nil } }.to raise_error(UcrawlerNative::Error, /no column "titel"/)
      end
      expect([crawls, queries]).to eq([0, 0])
    end

    it "names a callback method that is not defined, or not public" do
      create_sites(2)
      missing = model("NoCallback") { crawls :url, callback: :nope }
      hidden = model("PrivateCallback") do
        crawls :url, callback: :record

        private

        def record(_page) = nil
      end

      crawls, queries = activity do
        expect { missing.crawl_later }.to raise_error(UcrawlerNative::ConfigError, /NoCallback#nope is not defined/)
        expect { hidden.crawl_later }.to raise_error(UcrawlerNative::ConfigError, /PrivateCallback#record is not public/)
      end
      expect([crawls, queries]).to eq([0, 0])
    end
  end

  describe "jobs that could only fail, or succeed doing nothing" do
    it "crawl_later refuses a model with neither update: nor callback:, and the job itself fails loudly" do
      ids = create_sites(2).map(&:id)
      bare = model("Bare") { crawls :url }

      crawls, queries = activity do
        expect { bare.crawl_later }.to raise_error(UcrawlerNative::ConfigError, /Bare: a job needs something to do.*update:.*callback:/)
        expect { UcrawlerNative::CrawlJob.perform_now("Bare", ids) }.to raise_error(UcrawlerNative::ConfigError, /something to do/)
      end
      expect([crawls, queries]).to eq([0, 0])
      # With a mapping given, the same model's jobs have something to do.
      expect(bare.crawl_later(update: { crawled_at: :now })).to eq(1)
      expect(eventually(limit: 30) { Site.where(crawled_at: nil).none? }).to be(true)
    end

    it "a job whose callback is missing fails instead of skipping every record and succeeding" do
      ids = create_sites(3).map(&:id)
      model("Nope") { crawls :url, callback: :nope }

      reported = []
      hook = UcrawlerNative.on_error { |error, context| reported << [error.class, context[:handled]] }
      expect { UcrawlerNative::CrawlJob.perform_now("Nope", ids) }.to raise_error(UcrawlerNative::ConfigError, /Nope#nope/)
      expect(reported).to eq([[UcrawlerNative::ConfigError, false]])
    ensure
      UcrawlerNative.remove_error_hook(hook)
    end

    it "crawl_later refuses with: \"update\" on a model without a mapping, with: \"callback\" without a callback, and depth for updates" do
      create_sites(1)
      mapped = model("MappedOnly") { crawls :url, update: { title: :title } }
      called = model("CalledOnly") do
        crawls :url, callback: :record

        def record(_page) = nil
      end

      crawls, queries = activity do
        expect { mapped.crawl_later(with: "callback") }.to raise_error(UcrawlerNative::ConfigError, /declares no callback/)
        expect { called.crawl_later(with: "update") }.to raise_error(UcrawlerNative::ConfigError, /something to do/)
        expect { mapped.crawl_later(depth: 1) }.to raise_error(UcrawlerNative::ConfigError, /own page \(depth 0\), not depth: 1/)
        expect { mapped.crawl_later(update: { titel: :title }) }.to raise_error(UcrawlerNative::Error, /no column "titel"/)
      end
      expect([crawls, queries]).to eq([0, 0])
    end
  end

  describe "ActiveSupport durations and sizes" do
    it "work everywhere an option takes a duration or a size" do
      crawler = UcrawlerNative::Crawler.new(timeout: 2.seconds, delay: 0.25.seconds, deadline: 1.minute,
                                            max_body: 5.megabytes, max_memory: 1.5.gigabytes)
      expect(crawler.options).to include(timeout: 2.0, delay: 0.25, deadline: 60.0, max_body: 5 * 2**20,
                                         max_memory: 3 * 2**29)

      timed = model("Timed") { crawls :url, timeout: 3.seconds, update: { crawled_at: :now } }
      site = create_sites(1).first
      crawls = events("crawl.ucrawler_native") { timed.where(id: site.id).crawl_ids(read_timeout: 2.seconds) { nil } }
      expect(crawls.first.payload[:crawler].options).to include(timeout: 3.0, read_timeout: 2.0)

      expect(timed.where(id: site.id).crawl_later(stall_timeout: 30.seconds)).to eq(1)
      expect(eventually(limit: 30) { site.reload.crawled_at }).to be_truthy

      previous = UcrawlerNative.defaults
      UcrawlerNative.defaults = previous.merge(delay: 0.01.seconds)
      expect(UcrawlerNative.shared_crawler(**UcrawlerNative.defaults).options).to include(delay: 0.01)
    ensure
      UcrawlerNative.defaults = previous if previous
    end

    it "RedisFrontier takes durations for lease_timeout and timeout" do
      frontier = UcrawlerNative::RedisFrontier.new(url: "redis://127.0.0.1:1", name: "durations",
                                                   lease_timeout: 30.seconds, timeout: 2.seconds)

      expect(frontier.to_options).to include(lease_timeout: 30.0)
      expect(UcrawlerNative::Crawler.new(frontier: frontier).options).to include(lease_timeout: 30.0)
    end
  end

  describe "integrations that cannot work" do
    it "refuses error_trackers = [:rails] where Rails has no Rails.error (Rails 6.1)" do
      expect(Rails.respond_to?(:error)).to be(false)
      expect { UcrawlerNative.error_trackers = [:rails] }
        .to raise_error(UcrawlerNative::ConfigError, /:rails reports through Rails.error, which Rails 6\.1\.\d+(\.\d+)? does not have.*on_error/)
      expect(UcrawlerNative.error_trackers).to eq(UcrawlerNative::ERROR_TRACKERS)
      UcrawlerNative.error_trackers = %i[sentry]
      UcrawlerNative.error_trackers = UcrawlerNative::ERROR_TRACKERS # the default: whichever are loaded
    ensure
      UcrawlerNative.error_trackers = UcrawlerNative::ERROR_TRACKERS
    end

    it "says to add the sidekiq gem for via: :sidekiq in an app whose Gemfile lacks it", timeout: 120 do
      Dir.mktmpdir("ucrawler-no-sidekiq") do |dir|
        File.write(File.join(dir, "Gemfile"), <<~GEMFILE)
          source "https://rubygems.org"
          gem "activerecord"
          gem "activejob"
          gem "sqlite3"
        GEMFILE
        File.write(File.join(dir, "app.rb"), <<~'RUBY')
          require "active_record"
          require "ucrawler_native/rails"
          ActiveRecord::Base.establish_connection(adapter: "sqlite3", database: ":memory:")
          ActiveRecord::Schema.verbose = false
          ActiveRecord::Schema.define { create_table(:sites) { |t| t.string :url } }
          class Site < ActiveRecord::Base
            include UcrawlerNative::Model
            crawls :url, update: { url: :final_url }
          end
          Site.create!(url: "http://127.0.0.1:1/")
          begin
            require "sidekiq"
            puts "sidekiq is loadable"
          rescue LoadError
            nil
          end
          begin
            Site.crawl_later(via: :sidekiq)
          rescue UcrawlerNative::Error => e
            puts "#{e.class}: #{e.message}"
          end
        RUBY
        env = { "BUNDLE_GEMFILE" => File.join(dir, "Gemfile"), "RUBYOPT" => nil }
        output, status, = run_command(env, "bundle", "exec", RbConfig.ruby, "-I", File.join(TestSite::ROOT, "lib"),
                                      File.join(dir, "app.rb"), limit: 100, chdir: dir)

        expect(status).to be_success, output
        expect(output).not_to include("sidekiq is loadable")
        expect(output).to include('UcrawlerNative::ConfigError: via: :sidekiq needs the sidekiq gem: add `gem "sidekiq"` to your Gemfile')
      end
    end
  end

  describe "crawl_and_update refuses what it cannot do" do
    it "refuses depth other than 0, a block, an extract rule that does not exist, and sources the column cannot hold" do
      create_sites(2, path: "/page/%<n>d.html")

      crawls, queries = activity do
        expect { Site.crawl_and_update({ title: :title }, depth: 1) }
          .to raise_error(ArgumentError, /own page \(depth 0\), but depth: 1/)
        expect { Site.crawl_and_update(title: :title) { |_site, _page| nil } }.to raise_error(ArgumentError, /no block/)
        expect { Site.crawl_and_update(title: "extract.nope") }
          .to raise_error(ArgumentError, /no extract rule named "nope".*rules: none/)
        expect { Site.crawl_and_update({ title: "extract.nope" }, extract: { heading: "h1" }) }
          .to raise_error(ArgumentError, /no extract rule named "nope".*rules: heading/)
        expect { Site.crawl_and_update(http_status: :title) }
          .to raise_error(ArgumentError, /column "http_status" \(integer\) cannot hold :title \(string values\).*:status/)
        expect { Site.crawl_and_update(crawled_at: :title) }.to raise_error(ArgumentError, /"crawled_at" \(datetime\)/)
        expect { Site.crawl_and_update(http_status: :elapsed) }.to raise_error(ArgumentError, /float values/)
        expect { Site.crawl_and_update(crawled_at: :status) }.to raise_error(ArgumentError, /integer values/)
        expect { Site.crawl_and_update(http_status: :links) }.to raise_error(ArgumentError, /list values/)
      end
      expect([crawls, queries]).to eq([0, 0])
      expect(Site.pluck(:title, :http_status)).to all(eq([nil, nil]))
    end

    it "writes each record's own page only, even when the model's crawls declares a depth" do
      site = create_sites(1, path: "/page/%<n>d.html").first
      deep = model("Deep") { crawls :url, depth: 2, per_host: 8 }

      stats = deep.where(id: site.id).crawl_and_update(title: :title, note: :status) # an integer into a string column is fine
      expect(stats).to include(seeds: 1, pages: 1, rows_written: 1)
      expect(site.reload).to have_attributes(title: start_with("Page 1"), note: "200")
      expect { deep.crawl_and_update({ title: :title }, crawler: UcrawlerNative::Crawler.new) }
        .to raise_error(ArgumentError, /the crawler: has depth: nil/)
    end
  end
end

# frozen_string_literal: true

require_relative "rails_helper"

# The rake tasks as an operator runs them: `rake` in the app (spec/rails/Rakefile), a process of
# its own on the specs' database.
RSpec.shared_examples "rake tasks" do
  before { Site.delete_all }

  it "ucrawler:crawl[Site,uncrawled] crawls the scope's rows now and prints what it did; ucrawler:status shows the table" do
    sites = create_sites(3, path: "/page/%<n>d.html")
    Site.create!(url: nil)
    done = Site.create!(url: page_url(9), crawled_at: Time.current, title: "kept")

    output, status = rake("ucrawler:crawl[Site,uncrawled]")
    expect(status).to be_success, output
    expect(output).to match(/^Site: 3 seeds, 3 pages, 0 page errors \(none\), 1 rows without URL, 4 rows written in [\d.]+s$/)
    expect(Site.where(id: sites.map(&:id)).pluck(:http_status)).to all(eq(200))
    expect(done.reload.title).to eq("kept")

    output, status = rake("ucrawler:status")
    expect(status).to be_success, output
    expect(output).to include("Site (url): 5 rows, 1 without URL, 0 not crawled yet (crawled_at is nil); " \
                              "update: title, http_status, crawl_error, crawled_at; callback: record_crawl; options: {:depth=>0}")
  end

  it "names a model or scope that does not exist, and ucrawler:check checks every crawlable model" do
    output, status = rake("ucrawler:crawl[Nope]")
    expect(status).not_to be_success
    expect(output).to include('"Nope" is not a model including UcrawlerNative::Model')

    output, status = rake("ucrawler:crawl[Site,nope]")
    expect(status).not_to be_success
    expect(output).to include('Site has no scope or class method "nope"')

    output, status = rake("ucrawler:check")
    expect(status).to be_success, output
    expect(output).to include("ucrawler:check: Site, WatchedPage OK")
  end
end

RSpec.describe "Rake tasks", :rails, timeout: 180 do
  # Runs `rake -f spec/rails/Rakefile *args` on the database of this example group.
  def rake(*args, env: {})
    env = { "DATABASE_URL" => database_url, "UCRAWLER_SPEC_LOG" => RailsSpec::LOG, "RUBYOPT" => nil,
            "BUNDLE_GEMFILE" => nil, "UCRAWLER_BIN" => nil }.merge(env)
    output, status, = run_command(env, "rake", "-f", File.join(TestSite::ROOT, "spec/rails/Rakefile"), *args,
                                  limit: 60, chdir: TestSite::ROOT)
    [output, status]
  end

  it "are listed by rake -T with descriptions, and the gem's `rake native` too" do
    output, status, = run_command({ "DATABASE_URL" => RailsSpec::SQLITE_URL, "RUBYOPT" => nil }, "rake", "-f",
                                  File.join(TestSite::ROOT, "spec/rails/Rakefile"), "-T", "ucrawler", limit: 60)
    expect(status).to be_success, output
    %w[crawl[model,scope] enqueue[model,scope] status check].each do |task|
      expect(output).to match(/^rake ucrawler:#{Regexp.escape(task)}\s+# \S/)
    end

    output, status, = run_command({ "RUBYOPT" => nil }, "rake", "-T", limit: 60, chdir: TestSite::ROOT)
    expect(status).to be_success, output
    expect(output).to match(/^rake native\s+# Build a prebuilt/)
  end

  describe "on SQLite" do
    let(:database_url) { RailsSpec::SQLITE_URL }

    it_behaves_like "rake tasks"

    it "ucrawler:enqueue[Site,uncrawled] VIA=sidekiq enqueues Sidekiq jobs of the scope's ids" do
      require "sidekiq/api"
      redis = RailsSpec::RedisServer.new.start
      Sidekiq.redis = { url: redis.url }
      Site.delete_all
      sites = create_sites(5)
      Site.where(id: sites.first.id).update_all(crawled_at: Time.current)

      output, status = rake("ucrawler:enqueue[Site,uncrawled]", env: { "VIA" => "sidekiq", "IDS_PER_JOB" => "2",
                                                                      "REDIS_URL" => redis.url })
      expect(status).to be_success, output
      expect(output).to include("Site: 2 jobs enqueued (sidekiq)")
      jobs = Sidekiq::Queue.new("default").map(&:args)
      expect(jobs.map { |model, _, _| model }).to eq(%w[Site Site])
      expect(jobs.flat_map { |_, ids, _| ids }).to match_array(sites.drop(1).map(&:id))
    ensure
      redis&.stop
    end
  end

  describe "on PostgreSQL" do
    before(:context) do
      skip RailsSpec::POSTGRES_SKIP unless RailsSpec::POSTGRES_URL
      RailsSpec.use_postgres
    end

    after(:context) { RailsSpec.use_sqlite }

    let(:database_url) { RailsSpec.postgres_schema_url }

    it_behaves_like "rake tasks"
  end
end

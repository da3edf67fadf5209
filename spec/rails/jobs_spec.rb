# frozen_string_literal: true

require_relative "rails_helper"

RSpec.describe "UcrawlerNative jobs", :rails do
  before do
    Site.delete_all
    CrawlEvent.delete_all
    ReportedError.delete_all
  end

  # Collects error reports made through UcrawlerNative.on_error inside the block.
  def reports
    list = Queue.new
    hook = UcrawlerNative.on_error { |error, context| list << [error, context] }
    yield
    Array.new(list.size) { list.pop }
  ensure
    UcrawlerNative.remove_error_hook(hook)
  end

  describe UcrawlerNative::CrawlJob, "on ActiveJob's async adapter" do
    it "crawls and updates each batch of ids, all jobs of the process sharing one crawler" do
      sites = create_sites(40)
      crawls = Queue.new
      on_crawl = ->(*, payload) { crawls << [payload[:crawler], payload[:count], Thread.current] }
      ActiveSupport::Notifications.subscribed(on_crawl, "crawl.ucrawler_native") do
        expect(ActiveJob::Base.queue_adapter).to be_a(ActiveJob::QueueAdapters::AsyncAdapter)
        jobs = Site.where(id: sites.map(&:id)).crawl_later(ids_per_job: 10, with: "update", per_host: 2)
        expect(jobs).to eq(4)
        expect(eventually(limit: 30) { crawls.size == 4 && Site.where(crawled_at: nil).none? }).to be(true)
      end

      events = Array.new(crawls.size) { crawls.pop }
      expect(events.map { |_, count, _| count }).to eq([10, 10, 10, 10])
      expect(events.map(&:first).uniq.size).to eq(1)
      expect(events.first.first.options).to include(per_host: 2, depth: 0) # the call's, then `crawls`
      expect(events.map(&:last)).to all(satisfy { |thread| thread != Thread.current })
      expect(Site.pluck(:title, :http_status).uniq).to eq([["Many links target", 200]])
    end

    it "calls the model's callback; an exception for one record is reported with the job's context and the others go on" do
      sites = create_sites(5)
      boom = Site.create!(url: site_url("/hostile/many-links/7?explode=1"))
      ids = sites.map(&:id) + [boom.id]

      got = reports { UcrawlerNative::CrawlJob.perform_now("Site", ids, { "with" => "callback" }) }

      expect(Site.where(id: sites.map(&:id)).pluck(:note).uniq).to eq(["callback"])
      expect(boom.reload.note).to be_nil
      expect(got.size).to eq(1)
      error, context = got.first
      expect(error).to be_a(ArgumentError).and(have_attributes(message: "exploding site #{boom.id}"))
      expect(context).to include(model: "Site", record_id: boom.id, url: boom.url, handled: true,
                                 job: "UcrawlerNative::CrawlJob", ids: 6, queue: "default")
      expect(context[:job_id]).to match(/\A\h{8}-/)
    end

    it "re-raises a job-level failure after reporting it once, unhandled (the backend retries the batch)" do
      ids = create_sites(2).map(&:id)

      got = reports do
        expect { UcrawlerNative::CrawlJob.perform_now("Site", ids, { "depth" => "deep" }) }
          .to raise_error(TypeError, /depth/)
        # on_error: "raise" makes a record's exception fail the job: reported once, not twice.
        boom = Site.create!(url: site_url("/page/2.html?explode=1"))
        expect { UcrawlerNative::CrawlJob.perform_now("Site", [boom.id], { "with" => "callback", "on_error" => "raise" }) }
          .to raise_error(ArgumentError, /exploding/)
        expect { UcrawlerNative::CrawlJob.perform_now("Kernel", ids) }.to raise_error(UcrawlerNative::Error, /Kernel/)
      end

      expect(got.map { |error, context| [error.class, context[:handled], context[:job]] }).to eq(
        [[TypeError, false, "UcrawlerNative::CrawlJob"], [ArgumentError, false, "UcrawlerNative::CrawlJob"],
         [UcrawlerNative::Error, false, "UcrawlerNative::CrawlJob"]]
      )
      expect(got[1].last).to include(record_id: Site.last.id, model: "Site")
    end

    it "refuses job options that JSON would not carry as they are" do
      expect { Site.crawl_later(allow: /page/) }.to raise_error(ArgumentError, /JSON/)
      expect { Site.crawl_later(depht: 1) }.to raise_error(ArgumentError, /depht/)
      expect { Site.crawl_later(with: "destroy") }.to raise_error(ArgumentError, /with/)
      expect { Site.crawl_later(via: :resque) }.to raise_error(ArgumentError, /via/)
    end
  end

  describe UcrawlerNative::SidekiqWorker, "in a real Sidekiq process on a throwaway redis-server", timeout: 90 do
    before(:context) do
      @redis = RailsSpec::RedisServer.new.start
      Sidekiq.redis = { url: @redis.url }
      @sidekiq = RailsSpec::SidekiqProcess.new(redis_url: @redis.url, concurrency: 3).start
    end

    after(:context) do
      @sidekiq&.stop
      @redis&.stop
    end

    def wait_for(what, limit: 60, &condition)
      return if eventually(limit: limit, interval: 0.1, &condition)

      raise "timed out waiting for #{what}; sidekiq #{@sidekiq.running? ? "running" : "exited"}, log:\n" \
            "#{RailsSpec.log_tail(@sidekiq.log)}\nrails log:\n#{RailsSpec.log_tail(RailsSpec::LOG)}"
    end

    it "runs crawl_and_update jobs on its threads, all sharing the process's one crawler" do
      sites = create_sites(120)
      jobs = Site.where(id: sites.map(&:id)).crawl_later(via: :sidekiq, ids_per_job: 20, with: "update", delay: 0.05)
      expect(jobs).to eq(6)

      wait_for("6 jobs") { CrawlEvent.count == 6 && Site.where(crawled_at: nil).none? }

      expect(Site.pluck(:title, :http_status, :crawl_error).uniq).to eq([["Many links target", 200, nil]])
      events = CrawlEvent.order(:started_at).to_a
      expect(events.map(&:pid).uniq).to eq([@sidekiq.pid])
      expect(events.map(&:seeds)).to all(eq(20))
      expect(events.map(&:crawler_id).uniq.size).to eq(1)
      expect(events.map(&:thread_id).uniq.size).to be > 1
      # Jobs ran at the same time on that one crawler (each takes >= 20 x 50 ms).
      overlapping = events.each_cons(2).count { |a, b| b.started_at < a.finished_at }
      expect(overlapping).to be >= 1
    end

    it "reports a record's exception from the Sidekiq process with the job's context and goes on" do
      sites = create_sites(6)
      boom = Site.create!(url: site_url("/hostile/many-links/9?explode=1"))
      UcrawlerNative::SidekiqWorker.perform_async("Site", sites.map(&:id) + [boom.id], { "with" => "callback" })

      wait_for("the callback job") { Site.where(note: "callback").count == 6 && ReportedError.count == 1 }

      report = ReportedError.first
      context = JSON.parse(report.context)
      expect(report).to have_attributes(error_class: "ArgumentError", message: "exploding site #{boom.id}")
      expect(context).to include("model" => "Site", "record_id" => boom.id, "handled" => true,
                                 "job" => "UcrawlerNative::SidekiqWorker", "queue" => "default")
      expect(context["jid"]).to match(/\A\h{24}\z/)
    end

    it "reports a failing job unhandled and leaves it to Sidekiq's retries" do
      require "sidekiq/api"
      ids = create_sites(2).map(&:id)
      jid = UcrawlerNative::SidekiqWorker.perform_async("Site", ids, { "depth" => "deep" })

      wait_for("the retry") { Sidekiq::RetrySet.new.size == 1 && ReportedError.count == 1 }

      expect(Sidekiq::RetrySet.new.first).to have_attributes(jid: jid, klass: "UcrawlerNative::SidekiqWorker")
      expect(ReportedError.first).to have_attributes(error_class: "TypeError")
      expect(JSON.parse(ReportedError.first.context)).to include("handled" => false, "jid" => jid)
      Sidekiq::RetrySet.new.clear
    end
  end
end

# The new per-record API, the refusals and rows without a URL through a real Sidekiq process, on
# SQLite and on PostgreSQL (the Sidekiq process on the same database as the specs).
RSpec.shared_examples "crawl_later through a real Sidekiq" do
  before do
    Site.delete_all
    Sidekiq.redis = { url: @redis.url }
  end

  def wait_for(what, limit: 60, &condition)
    return if eventually(limit: limit, interval: 0.1, &condition)

    raise "timed out waiting for #{what}; sidekiq #{@sidekiq.running? ? "running" : "exited"}, log:\n" \
          "#{RailsSpec.log_tail(@sidekiq.log)}"
  end

  it "site.crawl_later, a relation's order and limit, and rows without a URL" do
    sites = create_sites(6)
    blank = Site.create!(url: nil) # the highest id

    expect(sites.first.crawl_later(via: :sidekiq, with: "update")).to eq(1)
    # The two highest ids: the row without a URL (marked) and the last site.
    expect(Site.order(id: :desc).limit(2).crawl_later(via: :sidekiq, with: "update")).to eq(1)
    wait_for("3 rows") { Site.where.not(crawled_at: nil).count == 3 }

    expect(Site.where.not(crawled_at: nil).pluck(:id)).to match_array([sites.first.id, sites.last.id, blank.id])
    expect(blank.reload.crawl_error).to eq("no_url")
    expect(Site.where(id: [sites.first.id, sites.last.id]).pluck(:http_status)).to eq([200, 200])
    expect(Site.where(crawled_at: nil).crawl_later(via: :sidekiq, with: "update", ids_per_job: 10)).to eq(1)
    wait_for("the rest") { Site.where(crawled_at: nil).none? }
  end

  it "keeps a recrawled table fresh: the due rows enqueued, then revisited conditionally" do
    WatchedPage.delete_all
    now = Time.current
    WatchedPage.insert_all!(Array.new(12) { |i| { url: page_url(i + 1), created_at: now, updated_at: now } })

    expect(WatchedPage.due_for_crawl.crawl_later(via: :sidekiq, ids_per_job: 5)).to eq(3)
    wait_for("the first visits") { WatchedPage.where(crawl_interval: 86_400).count == 12 }
    crawled = WatchedPage.order(:id).pluck(:crawled_at, :etag)
    expect(crawled.map(&:last)).to all(be_a(String))

    WatchedPage.update_all(next_crawl_at: 1.minute.ago)
    expect(WatchedPage.due_for_crawl.crawl_later(via: :sidekiq, ids_per_job: 5)).to eq(3)
    wait_for("the revisits") { WatchedPage.where(crawl_interval: 129_600).count == 12 } # all unchanged: grown by half
    expect(WatchedPage.order(:id).pluck(:crawled_at, :etag)).to eq(crawled)
    expect(WatchedPage.due_for_crawl).to be_empty
  end

  it "refuses before enqueueing what could only fail there" do
    create_sites(2)
    expect { Site.crawl_later(via: :sidekiq, with: "update", depth: 2) }.to raise_error(UcrawlerNative::ConfigError, /depth/)
    expect(Sidekiq::Queue.new("default").size).to eq(0)
  end
end

RSpec.describe "UcrawlerNative jobs, new API, in a real Sidekiq process", :rails, timeout: 120 do
  before(:context) { @redis = RailsSpec::RedisServer.new.start }
  after(:context) { @redis&.stop }

  describe "on SQLite" do
    before(:context) { @sidekiq = RailsSpec::SidekiqProcess.new(redis_url: @redis.url).start }
    after(:context) { @sidekiq&.stop }

    it_behaves_like "crawl_later through a real Sidekiq"
  end

  describe "on PostgreSQL" do
    before(:context) do
      skip RailsSpec::POSTGRES_SKIP unless RailsSpec::POSTGRES_URL
      RailsSpec.use_postgres
      @sidekiq = RailsSpec::SidekiqProcess.new(redis_url: @redis.url, database_url: RailsSpec.postgres_schema_url).start
    end

    after(:context) do
      @sidekiq&.stop
      RailsSpec.use_sqlite
    end

    it_behaves_like "crawl_later through a real Sidekiq"
  end
end

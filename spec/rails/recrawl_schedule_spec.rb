# frozen_string_literal: true

require_relative "recrawl_helpers"

# The adaptive schedule of `recrawl: { next_crawl_at:, interval: }`, due_for_crawl, the jobs
# path and the declaration's checks, on SQLite and, when DATABASE_URL points to one, PostgreSQL.
RSpec.shared_examples "a model on a revisit schedule" do
  include RecrawlHelpers

  before { WatchedPage.delete_all }

  let(:day) { RecrawlHelpers::DAY }

  it "selects the rows due (next_crawl_at NULL or past) and moves each by what its visit found" do
    fresh, changing, churning, stable = watch_pages(1..4)
    WatchedPage.where(id: stable.id).crawl_and_update
    stable.update_columns(crawl_interval: 2_000_000, next_crawl_at: 1.minute.ago)
    changing.update_columns(content_hash: "0000000000000000", crawl_interval: day)   # no validators: the hash decides
    churning.update_columns(content_hash: "0000000000000000", crawl_interval: 5000, next_crawl_at: 1.day.from_now)

    expect(WatchedPage.due_for_crawl.pluck(:id)).to contain_exactly(fresh.id, changing.id, stable.id)
    expect(WatchedPage.where.not(id: fresh.id).due_for_crawl(2.days.from_now).pluck(:id))
      .to contain_exactly(changing.id, churning.id, stable.id)

    stats = WatchedPage.all.crawl_and_update
    expect(stats[:changes]).to include(new: 1, changed: 2, unchanged: 1)
    intervals = { fresh => day, changing => day / 2, churning => 3600, stable => 30 * day } # start, halved, min, max
    intervals.each do |row, interval|
      row.reload
      expect(row.crawl_interval).to eq(interval)
      expect(from_now(row.next_crawl_at)).to be_within(120).of(interval)
    end
    expect(WatchedPage.due_for_crawl).to be_empty
    expect(changing.reload.title).to start_with("Page ")
    expect { Site.due_for_crawl }.to raise_error(UcrawlerNative::ConfigError, /Site\.due_for_crawl needs .*next_crawl_at/)
  end

  it "revisit: false fetches every page in full" do
    ids = watch_pages(1..3).map(&:id)
    WatchedPage.where(id: ids).crawl_and_update
    stats = WatchedPage.where(id: ids).crawl_and_update(revisit: false)
    expect(stats[:changes]).to include(new: 3, unchanged: 0)
  end

  it "keeps the table fresh from jobs: crawl_later leases the rows it enqueues; the jobs revisit them" do
    ids = watch_pages(1..25).map(&:id)
    enqueued = []
    allow(UcrawlerNative::JobRunner).to receive(:enqueue) { |*args| enqueued << args }
    expect(WatchedPage.due_for_crawl.crawl_later(ids_per_job: 10)).to eq(3)
    expect(WatchedPage.due_for_crawl.crawl_later(ids_per_job: 10)).to eq(0) # leased: not enqueued twice
    expect(enqueued.map { |_via, name, job_ids, _options| [name, job_ids.size] })
      .to eq([["WatchedPage", 10], ["WatchedPage", 10], ["WatchedPage", 5]])
    expect(WatchedPage.pluck(:next_crawl_at).map { |time| from_now(time) }).to all(be_within(120).of(3600))
    allow(UcrawlerNative::JobRunner).to receive(:enqueue).and_call_original

    WatchedPage.update_all(next_crawl_at: 1.minute.ago)
    expect(WatchedPage.due_for_crawl.crawl_later(ids_per_job: 10)).to eq(3) # ActiveJob's async adapter: threads here
    expect(eventually(limit: 30) { WatchedPage.where(checked_at: nil).none? && WatchedPage.due_for_crawl.none? }).to be(true)
    expect(eventually(limit: 10) { WatchedPage.where(crawl_interval: day).count == 25 }).to be(true)
    crawled = snapshot(ids, :crawled_at, :title)

    UcrawlerNative::SidekiqWorker.new.perform("WatchedPage", ids, {}) # the Sidekiq job's path, inline
    expect(snapshot(ids, :crawled_at, :title)).to eq(crawled) # all 304s: only checked_at and the schedule
    expect(WatchedPage.pluck(:crawl_interval).uniq).to eq([day * 3 / 2])

    UcrawlerNative::CrawlJob.perform_now("WatchedPage", ids, { "revisit" => false })
    expect(WatchedPage.where(id: ids).where("crawled_at > ?", crawled.values.map(&:first).max).count).to eq(25)
  end
end

RSpec.describe "A revisit schedule on SQLite", :rails do
  it_behaves_like "a model on a revisit schedule"

  # A model on the watched_pages table declaring `recrawl` (more `crawls` keywords in `also`).
  def watched(recrawl, **also)
    model("Watched") do
      self.table_name = "watched_pages"
      crawls :url, recrawl: recrawl, **also
    end
  end

  it "names a wrong recrawl: declaration when the class loads" do
    {
      true => /takes a Hash of columns/,
      { etagg: :etag } => /unknown recrawl: keys \[:etagg\]/,
      { checked_at: :checked_at } => /at least one of etag:, last_modified:, content_hash:/,
      { etag: :etag, next_crawl_at: :next_crawl_at } => /next_crawl_at: and interval: go together/,
      { etag: :etag, min_interval: 60 } => /min_interval: needs next_crawl_at: and interval:/,
      { etag: :etag, next_crawl_at: :next_crawl_at, interval: :crawl_interval, min_interval: 2.days } =>
        /min_interval <= start_interval <= max_interval \(got 172800, 86400, 2592000\)/,
      { etag: :etag, next_crawl_at: :next_crawl_at, interval: :crawl_interval, lease: 0 } => /lease: takes a positive/,
      { etag: :url } => /names column "url" twice \(or the URL column\)/,
      { etag: 42 } => /etag: takes a column name/
    }.each do |recrawl, message|
      expect { watched(recrawl) }.to raise_error(UcrawlerNative::ConfigError, message)
    end
    expect { watched({ etag: :etag }, update: { etag: :title }) }.to raise_error(UcrawlerNative::ConfigError, /"etag" is recrawl: etag:/)
    expect { watched({ etag: :etag, checked_at: :crawled_at }, update: { crawled_at: :now }) }.not_to raise_error
  end

  it "names a column the table lacks, or one whose type cannot hold its values, before the first crawl" do
    expect { watched({ etag: :etagz }).crawl_and_update(title: :title) }
      .to raise_error(UcrawlerNative::ConfigError, /Watched has no column "etagz" \(crawls \.\.\., recrawl: \{ etag:/)
    expect { watched({ content_hash: :http_status }).crawl_ids { nil } }
      .to raise_error(UcrawlerNative::ConfigError, /column "http_status" \(integer\) cannot hold recrawl: content_hash:/)
    expect { watched({ etag: :etag, next_crawl_at: :title, interval: :crawl_interval }).crawl_later }
      .to raise_error(UcrawlerNative::ConfigError, /column "title" \(string\) cannot hold recrawl: next_crawl_at:/)
    expect { WatchedPage.crawl_and_update(etag: :title) }.to raise_error(UcrawlerNative::ConfigError, /cannot be in the update mapping/)
    expect { WatchedPage.crawl_later(update: { etag: :title }) }.to raise_error(UcrawlerNative::ConfigError, /cannot be in the update mapping/)
  end
end

RSpec.describe "A revisit schedule on PostgreSQL", :rails do
  before(:context) do
    skip RailsSpec::POSTGRES_SKIP unless RailsSpec::POSTGRES_URL
    RailsSpec.use_postgres
  end

  after(:context) { RailsSpec.use_sqlite }

  it_behaves_like "a model on a revisit schedule"
end

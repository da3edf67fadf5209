# frozen_string_literal: true

require_relative "recrawl_helpers"
require "stringio"

# `crawls :url, recrawl: { ... }` (WatchedPage): what each visit writes by change, on SQLite
# and, when DATABASE_URL points to one, on PostgreSQL.
RSpec.shared_examples "a recrawled model" do
  include RecrawlHelpers

  before { WatchedPage.delete_all }

  let(:validators) { %i[etag last_modified content_hash] }

  it "stores what a visit learned and sends it back: the next crawl_and_update is all 304s, one statement per batch" do
    ids = watch_pages(1..25).map(&:id)
    first = WatchedPage.where(id: ids).crawl_and_update(batch_size: 10)

    expect(first[:changes]).to include(new: 25, changed: 0, unchanged: 0, gone: 0)
    pages = {}
    UcrawlerNative::Crawler.new(depth: 0, hash_content: true).crawl(WatchedPage.where(id: ids).pluck(:url)) { |page| pages[page.url] = page }
    WatchedPage.where(id: ids).each do |row|
      expect(row).to have_attributes(title: start_with("Page "), http_status: 200, crawl_error: nil, crawl_interval: RecrawlHelpers::DAY)
      expect(row.attributes.symbolize_keys.slice(*validators)).to eq(pages.fetch(row.url).last_visit)
      expect(row.checked_at).to eq(row.crawled_at)
      expect(from_now(row.next_crawl_at)).to be_within(120).of(RecrawlHelpers::DAY)
    end

    columns = %i[title http_status crawled_at updated_at etag last_modified content_hash checked_at]
    before = snapshot(ids, *columns)
    second = nil
    seed_plucks = count_queries(/SELECT "watched_pages"\."id", "watched_pages"\."url", "watched_pages"\."etag", "watched_pages"\."last_modified", "watched_pages"\."content_hash" FROM/) do
      loaded = events("instantiation.active_record") do
        sql = updates { second = WatchedPage.where(id: ids).crawl_and_update(batch_size: 10) }
        # 10 + 10 + 5 unchanged rows: one statement each, touching checked_at and the schedule only.
        expect(sql.size).to eq(3)
        expect(sql).to all(match(/\AUPDATE "watched_pages" SET "checked_at" = .*"next_crawl_at" = .*"crawl_interval" = .* WHERE "id" IN \(/))
        expect(sql.join).not_to match(/"title"|"crawled_at"|"etag"|"content_hash"|"updated_at"|CASE "id"/)
      end
      expect(loaded).to be_empty
    end

    expect(seed_plucks).to eq(3)
    expect(second[:changes]).to include(new: 0, changed: 0, unchanged: 25, not_modified: 25, gone: 0)
    expect(second).to include(rows_written: 25)
    after = snapshot(ids, *columns)
    expect(after.transform_values { |values| values.first(7) }).to eq(before.transform_values { |values| values.first(7) })
    expect(after.values.map(&:last)).to all(be > before.values.map(&:last).max)
    expect(WatchedPage.where(id: ids).pluck(:crawl_interval).uniq).to eq([RecrawlHelpers::DAY * 3 / 2])
    expect(from_now(WatchedPage.where(id: ids).minimum(:next_crawl_at))).to be_within(120).of(RecrawlHelpers::DAY * 1.5)
  end

  it "revisits in crawl and crawl_ids too, and keeps last_modified in a datetime column as a Time" do
    dated = model("DatedPage") do
      self.table_name = "watched_pages"
      crawls :url, update: { title: :title }, recrawl: { last_modified: :last_modified_at }
    end
    ids = watch_pages(1..4).map(&:id)
    dated.where(id: ids).crawl_and_update
    expect(dated.where(id: ids).pluck(:last_modified_at)).to all(be_a(Time))

    statuses = []
    published = events("page.ucrawler_native") do
      dated.where(id: ids).crawl_ids { |id, page| statuses << [id, page.status, page.change] }
    end
    expect(statuses).to match_array(ids.map { |id| [id, 304, :unchanged] })
    expect(published.map { |event| event.payload[:change] }).to eq(%i[unchanged] * 4)
    WatchedPage.where(id: ids).crawl_and_update
    log = StringIO.new
    previous, Rails.logger = Rails.logger, Logger.new(log, level: :info)
    pages = []
    WatchedPage.where(id: ids).crawl { |record, page| pages << [record.title, page.status, page.title] }
    expect(pages).to all(match([start_with("Page "), 304, nil]))
    expect(log.string).to match(/crawled WatchedPage: 4 seeds, .* in [\d.]+s; 0 new, 0 changed, 4 unchanged \(4 not modified\), 0 gone$/)
  ensure
    Rails.logger = previous if previous
  end

  it "writes changed pages in full, keeps what removed pages had, and restores a page that comes back" do
    ids = watch_pages(1...TestSite::PAGES).map(&:id)
    WatchedPage.where(id: ids).crawl_and_update(batch_size: 100)
    columns = %i[title http_status crawl_error crawled_at etag content_hash crawl_interval]
    first = snapshot(ids, *columns)

    stats = nil
    sql = at_generation(1) { updates { stats = WatchedPage.where(id: ids).crawl_and_update(batch_size: 100) } }

    changes = stats[:changes]
    expect(changes).to include(new: 0)
    expect([changes[:changed], changes[:gone]]).to all(be_positive)
    expect(changes.values_at(:changed, :unchanged, :gone).sum).to eq(ids.size)
    expect(sql.size).to be <= 6 # 3 batches: rows with values of their own, then the unchanged rows
    second = snapshot(ids, *columns)
    changed = ids.select { |id| second[id][5] != first[id][5] }
    gone = ids.select { |id| [404, 410].include?(second[id][1]) }
    expect([changed.size, gone.size]).to eq([changes[:changed], changes[:gone]])
    changed.each do |id|
      expect(second[id]).to match([start_with("Page "), 200, nil, be > first[id][3], be_a(String), match(/\A\h{16}\z/), 43_200])
    end
    gone.each do |id| # what the row had, but the status, the error and :now
      expect(second[id]).to eq([first[id][0], second[id][1], "http_status", second[id][3], *first[id][4..5], 129_600])
      expect(second[id][3]).to be > first[id][3]
    end
    (ids - changed - gone).each { |id| expect(second[id]).to eq([*first[id][0..5], 129_600]) }

    third = WatchedPage.where(id: ids).crawl_and_update(batch_size: 100) # generation 0 again
    expect(third[:changes]).to include(changed: changed.size, unchanged: ids.size - changed.size, gone: 0)
    back = snapshot(ids, *columns)
    expect(back.transform_values { |values| values.values_at(0, 1, 2, 4, 5) })
      .to eq(first.transform_values { |values| values.values_at(0, 1, 2, 4, 5) }) # gone pages: 200 and no error again
  end

  it "hashes every page when rows keep the hash; a crawler passed in must hash too" do
    ids = watch_pages([8]).map(&:id)
    rows = WatchedPage.where(id: ids)
    expect { rows.crawl_and_update(crawler: UcrawlerNative::Crawler.new(depth: 0)) }
      .to raise_error(UcrawlerNative::ConfigError, /WatchedPage: rows keep page.content_hash.*hash_content: true/)
    rows.crawl_and_update(crawler: UcrawlerNative::Crawler.new(depth: 0, hash_content: true))
    expect(rows.pick(:content_hash)).to match(/\A\h{16}\z/)
  end

  it "keeps the validators and the content through a failure, retries sooner, and clears the error when it recovers" do
    page, = watch_pages([7])
    no_url = WatchedPage.create!(url: nil)
    WatchedPage.where(id: page.id).crawl_and_update
    kept = page.reload.attributes.slice("title", "etag", "last_modified", "content_hash")

    page.update_columns(url: site_url("/hostile/status/500"))
    stats = WatchedPage.where(id: [page.id, no_url.id]).crawl_and_update
    expect(stats[:changes].values).to all(eq(0))
    expect(page.reload).to have_attributes(http_status: 500, crawl_error: "http_status", crawl_interval: RecrawlHelpers::DAY, **kept.symbolize_keys)
    expect(from_now(page.next_crawl_at)).to be_within(120).of(RecrawlHelpers::DAY / 4)
    expect(no_url.reload).to have_attributes(crawl_error: "no_url", crawl_interval: nil, etag: nil)
    expect(from_now(no_url.next_crawl_at)).to be_within(120).of(RecrawlHelpers::DAY / 4)

    page.update_columns(url: page_url(7))
    stats = WatchedPage.where(id: page.id).crawl_and_update
    expect(stats[:changes]).to include(unchanged: 1, not_modified: 1)
    expect(page.reload).to have_attributes(http_status: 200, crawl_error: nil, crawl_interval: RecrawlHelpers::DAY * 3 / 2, **kept.symbolize_keys)

    bare = model("Bare") do # no visit column: a failure or a 304 has nothing to write
      self.table_name = "watched_pages"
      crawls :url, touch: false, update: { title: :title }, recrawl: { etag: :etag }
    end
    expect(bare.where(id: [page.id, no_url.id]).crawl_and_update).to include(rows_written: 0)
  end
end

RSpec.describe "Recrawling a model on SQLite", :rails do
  it_behaves_like "a recrawled model"
end

RSpec.describe "Recrawling a model on PostgreSQL", :rails do
  before(:context) do
    skip RailsSpec::POSTGRES_SKIP unless RailsSpec::POSTGRES_URL
    RailsSpec.use_postgres
  end

  after(:context) { RailsSpec.use_sqlite }

  it_behaves_like "a recrawled model"
end

# frozen_string_literal: true

require_relative "rails_helper"

# What a Rails developer expects by default: a model crawl fetches each record's own page, a
# record crawls itself, and the initializer's configuration applies to every crawler of the app.
RSpec.shared_examples "defaults and per-record API" do
  before { Site.delete_all }

  describe "depth" do
    it "is 0 by default for model crawls (`crawls :url` alone fetches each record's own page)" do
      site = Site.create!(url: page_url(5))
      plain = model("Plain") { crawls :url }

      depths = []
      stats = plain.where(id: site.id).crawl_ids { |_, page| depths << page.depth }
      expect(depths).to eq([0])
      expect(stats).to include(pages: 1, seeds: 1)

      deeper = plain.where(id: site.id).crawl_ids(depth: 1, per_host: 8) { nil }
      expect(deeper[:pages]).to be > 5
      expect(UcrawlerNative::Crawler.new(per_host: 1).options).not_to include(:depth) # Crawler: the engine's (unlimited)
    end
  end

  describe "per record" do
    it "site.crawl { |page| } yields the record's own page, and those found from it with depth:" do
      site = Site.create!(url: page_url(3))
      pages = []
      stats = site.crawl { |page| pages << page }

      expect(pages.map { |page| [page.url, page.meta, page.status] }).to eq([[site.url, site.id, 200]])
      expect(stats).to include(seeds: 1, pages: 1)
      expect(site.crawl(depth: 1, per_host: 8) { nil }[:pages]).to be > 5
      expect { site.crawl }.to raise_error(ArgumentError, /block/)
    end

    it "site.crawl_and_update writes the mapping and reads it back, keeping unsaved changes" do
      site = Site.create!(url: page_url(4))
      other = Site.create!(url: page_url(6))
      site.note = "unsaved"

      stats = site.crawl_and_update
      expect(stats).to include(seeds: 1, rows_written: 1)
      expect(site).to have_attributes(title: start_with("Page 4"), http_status: 200, crawl_error: nil,
                                      crawled_at: be_present, note: "unsaved")
      expect(site.changed).to eq(["note"])
      expect(other.reload.title).to be_nil

      site.crawl_and_update(crawl_error: :content_type)
      expect(site.crawl_error).to start_with("text/html")
    end

    it "site.crawl_later enqueues one job for the record" do
      site = Site.create!(url: page_url(7))

      expect(site.crawl_later(with: "update")).to eq(1)
      expect(eventually(limit: 30) { site.reload.crawled_at }).to be_truthy
      expect(site.title).to start_with("Page 7")
    end

    it "refuses a record that is not saved, and marks one without a URL" do
      expect { Site.new(url: page_url(1)).crawl { nil } }.to raise_error(UcrawlerNative::ConfigError, /save the record/)

      blank = Site.create!(url: nil)
      expect(blank.crawl { raise "no page expected" }).to include(seeds: 0, no_url: 1)
      blank.crawl_and_update
      expect(blank).to have_attributes(crawl_error: "no_url", crawled_at: be_present)
    end
  end
end

RSpec.describe "Defaults and per-record API on SQLite", :rails do
  it_behaves_like "defaults and per-record API"
end

RSpec.describe "Defaults and per-record API on PostgreSQL", :rails do
  before(:context) do
    skip RailsSpec::POSTGRES_SKIP unless RailsSpec::POSTGRES_URL
    RailsSpec.use_postgres
  end

  after(:context) { RailsSpec.use_sqlite }

  it_behaves_like "defaults and per-record API"
end

RSpec.describe "The initializer's configuration", :rails do
  it "applies to UcrawlerNative::Crawler.new and RedisFrontier crawls too, under their own keywords" do
    expect(UcrawlerNative.defaults).to eq(per_host: 8, retries: 0, timeout: 10)

    expect(UcrawlerNative::Crawler.new.options).to eq(per_host: 8, retries: 0, timeout: 10.0)
    expect(UcrawlerNative::Crawler.new(per_host: 2, depth: 1).options).to eq(per_host: 2, retries: 0, timeout: 10.0, depth: 1)

    frontier = UcrawlerNative::RedisFrontier.new(url: "redis://127.0.0.1:1", name: "config")
    expect(UcrawlerNative::Crawler.new(frontier: frontier).options)
      .to include(per_host: 8, retries: 0, timeout: 10.0, redis: "redis://127.0.0.1:1", name: "config")

    previous = UcrawlerNative.defaults
    UcrawlerNative.defaults = previous.merge(user_agent: "MyApp crawler (+https://example.com/bot)", batch_size: 10)
    expect(UcrawlerNative::Crawler.new.options).to include(user_agent: "MyApp crawler (+https://example.com/bot)")
    expect(UcrawlerNative::Crawler.new.options).not_to include(:batch_size)
  ensure
    UcrawlerNative.defaults = previous if previous
  end
end

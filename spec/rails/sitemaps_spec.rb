# frozen_string_literal: true

require_relative "rails_helper"

# `sitemaps:` from a model: one row is one website, and its sitemaps' pages come to
# `crawl { |record, page| }` with the record (at the seed's depth, with their lastmod);
# crawl_and_update, which writes each record's own page, refuses it.
RSpec.describe "sitemaps from a model" do
  before { Site.delete_all }

  it "yields each site's sitemap pages with their record and lastmod" do
    site = Site.create!(url: site_url("/"))
    other = Site.create!(url: site_url("/page/1.html"))
    pages = Hash.new { |h, k| h[k] = [] }
    Site.crawl(sitemaps: true) { |record, page| pages[record.id] << page }

    # The test site's robots.txt names no sitemap: `sitemaps: true` reads /sitemap.xml, whose
    # 20 orphan pages are linked from nowhere. One discovery per site (host:port), by the
    # first seed of it.
    orphans = pages.values.flatten.select { |page| page.url.include?("/orphan/") }
    expect(orphans.map(&:url).uniq.size).to eq(20)
    expect(orphans).to all(have_attributes(depth: 0, ok?: true))
    expect(orphans.map(&:lastmod)).to include("2024-02-01T08:00:00+00:00")
    expect(pages.keys).to include(site.id, other.id)
    own = pages[site.id].find { |page| page.url == site_url("/") }
    expect(own.lastmod).to be_nil
  end

  it "is refused by crawl_and_update, whose pages are each record's own" do
    Site.create!(url: site_url("/"))
    expect { Site.crawl_and_update(sitemaps: true) }
      .to raise_error(UcrawlerNative::ConfigError, /sitemaps: "on".*crawl \{ \|record, page\| \}/)
    expect { Site.crawl_and_update(sitemaps: :robots) }.to raise_error(UcrawlerNative::ConfigError, /sitemaps/)
    expect(Site.crawl_and_update(sitemaps: false)).to include(seeds: 1)
  end

  it "reports every orphan's lastmod, and writes nothing by itself" do
    site = Site.create!(url: site_url("/"))
    seen = {}
    Site.crawl(sitemaps: true, depth: 0) { |_record, page| seen[page.url] = page.lastmod if page.lastmod }
    expect(seen.size).to eq(20)
    expect(seen.values).to all(match(/\A2024-02-\d\dT08:00:00\+00:00\z/))
    expect(site.reload.title).to be_nil # crawl { } writes nothing by itself
  end
end

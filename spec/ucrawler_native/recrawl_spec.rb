# frozen_string_literal: true

require "tmpdir"

RSpec.describe "Recrawling" do
  let(:crawler) { UcrawlerNative::Crawler.new(depth: 0, hash_content: true) }

  def crawl_pages(seeds, crawler: self.crawler)
    pages = []
    crawler.crawl(seeds) { |page| pages << page }
    pages.to_h { |page| [page.url, page] }
  end

  it "reports a first visit as new, with what the next visit needs" do
    page = crawl_pages([page_url(1)]).fetch(page_url(1))
    expect(page.change).to eq(:new)
    expect(page).to be_changed
    expect(page.etag).to match(/\A(W\/)?".+"\z/)
    expect(page.last_modified).to match(/GMT\z/)
    expect(page.content_hash).to match(/\A\h{16}\z/)
    expect(page.last_visit).to eq(etag: page.etag, last_modified: page.last_modified,
                                  content_hash: page.content_hash)
    expect(page.to_h).to include(change: :new, content_hash: page.content_hash)
  end

  it "revisits a seed carrying its last visit conditionally: a 304, no body, the hash kept" do
    first = crawl_pages([page_url(1), page_url(2)])
    seeds = first.map { |url, page| [url, nil, page.last_visit] }
    second = crawl_pages(seeds)
    expect(second.values.map(&:change)).to all(eq(:unchanged))
    expect(second.values).to all(be_unchanged)
    expect(second.values.map(&:status)).to all(eq(304))
    expect(second.values.map(&:bytes)).to all(eq(0))
    expect(second.transform_values(&:content_hash)).to eq(first.transform_values(&:content_hash))
    expect(crawler.stats[:changes]).to eq(new: 0, changed: 0, unchanged: 2, gone: 0, not_modified: 2)
  end

  it "tells a change from the content hash alone, and a removed page as gone" do
    first = crawl_pages([page_url(3)]).fetch(page_url(3))
    seeds = [[page_url(3), nil, { content_hash: first.content_hash }],
             [page_url(4), nil, { "content_hash" => "0000000000000000" }],
             [site_url("/page/999999.html"), 7, { etag: '"gone"' }]]
    pages = crawl_pages(seeds)
    expect(pages.fetch(page_url(3)).change).to eq(:unchanged)
    expect(pages.fetch(page_url(3)).status).to eq(200)
    expect(pages.fetch(page_url(4))).to be_changed
    gone = pages.fetch(site_url("/page/999999.html"))
    expect([gone.change, gone.status, gone.meta]).to eq([:gone, 404, 7])
    expect(gone).to be_gone
  end

  it "hashes with hash_content: true, or a page whose last visit has a hash; a one-shot crawl skips it" do
    hashed = crawl_pages([page_url(3)]).fetch(page_url(3)).content_hash
    plain = UcrawlerNative::Crawler.new(depth: 0)
    expect(UcrawlerNative::Options.defaults[:hash_content]).to be(false)
    expect(crawl_pages([page_url(3)], crawler: plain).fetch(page_url(3)).content_hash).to be_nil
    # No validators sent back: the server answers 200 and the hash decides.
    revisit = crawl_pages([[page_url(3), nil, { content_hash: hashed }]], crawler: plain).fetch(page_url(3))
    expect([revisit.status, revisit.content_hash, revisit.change]).to eq([200, hashed, :unchanged])
    expect { UcrawlerNative::Crawler.new(hash_content: "yes") }.to raise_error(TypeError, /hash_content must be true or false/)
  end

  it "takes a Time as last_modified, and a last visit with nothing in it as no visit" do
    page = crawl_pages([page_url(5)]).fetch(page_url(5))
    since = Time.httpdate(page.last_modified) + 3600
    pages = crawl_pages([[page_url(5), nil, { last_modified: since }],
                         [page_url(6), nil, { etag: nil, last_modified: "", content_hash: nil }]])
    expect(pages.fetch(page_url(5)).status).to eq(304)
    expect(pages.fetch(page_url(6)).change).to eq(:new)
  end

  it "names what is wrong with a last visit" do
    expect { crawl_pages([[page_url(1), nil, "etag"]]) }.to raise_error(TypeError, /last visit must be a Hash/)
    expect { crawl_pages([[page_url(1), nil, { hash: "x" }]]) }.to raise_error(ArgumentError, /unknown last visit keys: hash/)
    expect { crawl_pages([[page_url(1), nil, { etag: 42 }]]) }.to raise_error(TypeError, /etag must be a String/)
    expect { crawl_pages([[page_url(1), nil, {}, :extra]]) }.to raise_error(TypeError, /a seed must be/)
  end

  it "recrawls from state_dir: every URL the last crawl visited, conditionally" do
    Dir.mktmpdir do |dir|
      first = crawl_pages([site_url("/")], crawler: UcrawlerNative::Crawler.new(state_dir: dir))
      expect(first.keys).to match_array(expected_urls)
      recrawler = UcrawlerNative::Crawler.new(state_dir: dir, recrawl: true)
      second = crawl_pages([site_url("/")], crawler: recrawler)
      expect(second.keys).to match_array(expected_urls)
      expect(second.values.map(&:change).tally).to eq(unchanged: expected_urls.size)
      expect(recrawler.stats[:changes]).to include(unchanged: expected_urls.size, not_modified: expected_urls.size)
    end
  end

  it "needs state_dir to recrawl" do
    expect { UcrawlerNative::Crawler.new(recrawl: true) }.to raise_error(UcrawlerNative::ConfigError, /recrawl/)
  end
end

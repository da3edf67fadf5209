# frozen_string_literal: true

RSpec.describe UcrawlerNative::Crawler, "#each_page and lazy seeds" do
  let(:crawler) { described_class.new(per_host: 4) }

  it "returns an Enumerator without a block" do
    enum = described_class.new(depth: 0).each_page([page_url(1), page_url(2)])

    expect(enum).to be_an(Enumerator)
    expect(enum.map(&:url)).to contain_exactly(page_url(1), page_url(2))
    # Each iteration is a new crawl.
    expect(enum.count).to eq(2)
  end

  it "crawl requires a block" do
    expect { crawler.crawl(page_url(1)) }.to raise_error(ArgumentError, /block/)
  end

  it ".lazy.select(&:ok?).first(3) returns 3 pages and stops the crawl" do
    pages = nil
    took = elapsed { pages = crawler.each_page(site_url("/")).lazy.select(&:ok?).first(3) }

    expect(pages.size).to eq(3)
    expect(pages).to all(be_a(UcrawlerNative::Page).and(be_ok))
    expect(took).to be < 10
    # Stopped early: far fewer pages than the site has.
    expect(crawler.stats[:pages]).to be < expected_urls.size
    # The crawler is free for the next crawl, which is complete.
    urls = []
    crawler.crawl(site_url("/")) { |page| urls << page.url }
    expect(urls).to match_array(expected_urls)
  end

  it "external iteration (Enumerator#next) works" do
    enum = described_class.new(depth: 0).each_page([page_url(1), page_url(2)])
    urls = [enum.next.url, enum.next.url]

    expect(urls).to contain_exactly(page_url(1), page_url(2))
    expect { enum.next }.to raise_error(StopIteration)
  end

  it "break in the block stops the crawl and returns the break value" do
    seen = []
    result = crawler.crawl(site_url("/")) do |page|
      seen << page.url
      break [:stopped, page.url] if seen.size == 5
    end

    expect(result).to eq([:stopped, seen.last])
    expect(seen.size).to eq(5)
    expect(crawler.stats[:pages]).to be < expected_urls.size

    count = 0
    crawler.crawl(site_url("/")) { count += 1 }
    expect(count).to eq(expected_urls.size)
  end

  it "throw out of the block stops the crawl too" do
    value = catch(:done) do
      crawler.crawl(site_url("/")) { |page| throw :done, page.url }
      :not_thrown
    end

    expect(expected_urls).to include(value)
    count = 0
    crawler.crawl(site_url("/")) { count += 1 }
    expect(count).to eq(expected_urls.size)
  end

  it "consumes an endless seed Enumerator incrementally (max_pages ends the crawl)" do
    yielded = 0
    seeds = Enumerator.new do |y|
      1_000_000.times do |i|
        yielded += 1
        y << [page_url((i % 200) + 1), i]
      end
    end
    crawler = described_class.new(depth: 0, max_pages: 300, per_host: 8)
    pages = []

    stats = crawler.crawl(seeds) { |page| pages << page }

    expect(pages.size).to eq(300)
    expect(pages).to all(be_ok)
    expect(pages.map(&:meta)).to all(be_an(Integer).and(be < yielded))
    expect(stats[:pages]).to eq(300)
    # The engine holds a bounded seed buffer; the rest of the million was never pulled.
    expect(yielded).to be < 50_000
  end
end

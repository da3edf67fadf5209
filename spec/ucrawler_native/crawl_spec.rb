# frozen_string_literal: true

RSpec.describe UcrawlerNative::Crawler, "#crawl" do
  let(:page_count) { TestSite::PAGES }

  def crawl_all(crawler, urls, **kwargs)
    pages = []
    stats = crawler.crawl(urls, **kwargs) { |page| pages << page }
    [pages, stats]
  end

  describe "a whole-site crawl" do
    let(:crawler) { described_class.new(per_host: 8) }

    it "yields exactly the expected URL set, each once, all ok, with titles" do
      pages, stats = crawl_all(crawler, site_url("/"))
      urls = pages.map(&:url)

      expect(urls.size).to eq(expected_urls.size)
      expect(urls.tally.select { |_, n| n > 1 }).to be_empty
      expect(urls).to match_array(expected_urls)
      expect(pages.reject(&:ok?).map { |p| [p.url, p.status, p.error] }).to be_empty
      expect(pages.map(&:title)).to all(be_a(String).and(satisfy { |t| !t.strip.empty? }))
      expect(pages.map(&:status).uniq).to eq([200])
      expect(pages.map(&:depth).max).to be >= 1

      expect(stats).to include(pages: expected_urls.size, errors: 0)
      expect(stats[:bytes]).to be > 0
      # After the crawl, #stats are those of the crawl that ended.
      expect(crawler.stats).to eq(stats)
    end

    it "reports page fields from the HTML" do
      pages, = crawl_all(described_class.new(depth: 0), page_url(3))
      page = pages.fetch(0)

      expect(page.url).to eq(page_url(3))
      expect(page.final_url).to eq(page_url(3))
      expect(page.content_type).to start_with("text/html")
      expect(page.title).to start_with("Page 3")
      expect(page.description).to be_a(String)
      expect(page.canonical).to eq(page_url(3))
      expect(page.links).to include(site_url("/"), page_url(1))
      # Absolute, normalized, without fragments; other hosts' links are listed (not followed).
      expect(page.links).to all(match(%r{\Ahttps?://[^/]+/[^#]*\z}))
      expect(page.nofollow_links).to eq([]).and be_frozen # the site has no rel="nofollow" links
      expect(page.bytes).to be > 1000
      expect(page.elapsed).to be_a(Float).and(be > 0)
      expect(page.depth).to eq(0)
      expect(page.attempts).to eq(1)
      expect(page.truncated?).to be(false)
      expect(page.to_h).to include(url: page_url(3), status: 200, title: page.title, error: nil)
    end
  end

  describe "depth" do
    it "depth: 0 fetches only the seeds" do
      pages, = crawl_all(described_class.new(depth: 0), [site_url("/"), page_url(7)])

      expect(pages.map(&:url)).to contain_exactly(site_url("/"), page_url(7))
      expect(pages.map(&:depth)).to all(eq(0))
    end

    it "depth: 1 fetches the seed and exactly the in-scope links on it" do
      root = crawl_all(described_class.new(depth: 0), site_url("/")).first.fetch(0)
      linked = root.links.select { |link| expected_urls.include?(link) }.uniq - [site_url("/")]
      expect(linked).not_to be_empty

      pages, = crawl_all(described_class.new(depth: 1, per_host: 8), site_url("/"))

      expect(pages.map(&:url)).to match_array([site_url("/"), *linked])
      expect(pages.map(&:depth).tally).to eq(0 => 1, 1 => linked.size)
    end
  end

  it "max_pages stops the crawl after that many pages" do
    pages, stats = crawl_all(described_class.new(max_pages: 10, per_host: 4), site_url("/"))

    expect(pages.size).to eq(10)
    expect(pages.map(&:url).uniq.size).to eq(10)
    expect(stats[:pages]).to eq(10)
  end

  it "max_pages_per_host crawls at most that many pages of a host, counting the rest by host" do
    pages, stats = crawl_all(described_class.new(max_pages_per_host: 12, per_host: 4), site_url("/"))

    expect(pages.map(&:url).uniq.size).to eq(12)
    host = base_url.delete_prefix("http://").delete_suffix("/")
    expect(stats[:over_host_budget]).to be_positive
    expect(stats).to include(trap_path_loops: 0, trap_query_variants: 0) # the site has no traps
    expect(stats[:over_host_budget_by_host]).to eq(host.to_sym => stats[:over_host_budget])
    expect { described_class.new(max_pages_per_host: 0) }.to raise_error(UcrawlerNative::ConfigError, /max_pages_per_host/)
  end

  it "max_pages_per_seed gives each seed's meta (a record) its own budget" do
    crawler = described_class.new(max_pages_per_seed: 7, per_host: 4)
    pages, stats = crawl_all(crawler, [[site_url("/"), 1], [page_url(5), 2]])

    expect(pages.map(&:meta).tally).to eq(1 => 7, 2 => 7)
    expect(stats[:over_seed_budget]).to be_positive
    expect { described_class.new(max_pages_per_seed: 1, redis: "redis://127.0.0.1:1", name: "x") }
      .to raise_error(UcrawlerNative::ConfigError, /max_pages_per_seed/)
  end

  it "extract rules: page[:name] is the first match, page.extracted all of them" do
    crawler = described_class.new(depth: 0, extract: { price: ".price", hero: ["img.hero", "src"], none: ".no-such-thing" })
    pages, = crawl_all(crawler, (1..5).map { |n| page_url(n) })

    expect(pages.size).to eq(5)
    pages.each do |page|
      number = page.url[%r{/page/(\d+)\.html}, 1]
      expect(page[:price]).to match(/\A\$\d+\.\d\d\z/)
      expect(page["price"]).to eq(page[:price])
      expect(page[:hero]).to eq("/img/#{number}.jpg")
      expect(page[:none]).to be_nil
      expect(page.extracted).to eq(price: [page[:price]], hero: [page[:hero]], none: [])
    end
    expect { pages.first[:unknown_rule] }.to raise_error(KeyError, /unknown_rule/)
  end

  describe "meta" do
    it "round-trips Integer, String and Symbol meta on seeds" do
      seeds = [[page_url(1), 42], [page_url(2), "record-7"], [page_url(3), :sym], page_url(4)]
      pages, = crawl_all(described_class.new(depth: 0), seeds)

      expect(pages.to_h { |p| [p.url, p.meta] }).to eq(
        page_url(1) => 42, page_url(2) => "record-7", page_url(3) => :sym, page_url(4) => nil,
      )
    end

    it "is inherited by discovered pages (Integer)" do
      pages, = crawl_all(described_class.new(depth: 1, per_host: 8), [[site_url("/"), 1234]])

      expect(pages.size).to be > 10
      expect(pages.map(&:meta).uniq).to eq([1234])
    end

    it "is inherited by discovered pages (String, via meta:)" do
      pages, = crawl_all(described_class.new(depth: 1, per_host: 8), site_url("/"), meta: "batch-é")

      expect(pages.size).to be > 10
      expect(pages.map(&:meta).uniq).to eq(["batch-é"])
      expect(pages.first.meta.encoding).to eq(Encoding::UTF_8)
    end

    it "a pair's meta wins over meta:" do
      pages, = crawl_all(described_class.new(depth: 0), [[page_url(1), 5], page_url(2)], meta: 9)

      expect(pages.to_h { |p| [p.url, p.meta] }).to eq(page_url(1) => 5, page_url(2) => 9)
    end

    it "rejects other meta types" do
      crawler = described_class.new(depth: 0)
      expect { crawler.crawl([[page_url(1), 1.5]]) { nil } }.to raise_error(TypeError, /meta/)
      expect { crawler.crawl(page_url(1), meta: [1]) { nil } }.to raise_error(TypeError, /meta/)
    end
  end

  describe "failed pages are reported, not raised" do
    let(:crawler) { described_class.new(depth: 0, retries: 0) }

    it "a 404 has error kind :http_status" do
      pages, stats = crawl_all(crawler, site_url("/page/99999.html"))
      page = pages.fetch(0)

      expect(page.status).to eq(404)
      expect(page).not_to be_ok
      expect(page.error).to be_a(UcrawlerNative::PageError)
      expect(page.error.kind).to eq(:http_status)
      expect(page.error.message).to include("404")
      expect(page.to_h[:error]).to eq(kind: :http_status, message: page.error.message)
      # Not parsed: no matches for any rule (page[:rule] is nil, it does not raise).
      expect(page.extracted).to eq({})
      expect(page[:price]).to be_nil
      expect(stats).to include(pages: 1, errors: 1)
      expect(stats[:errors_by_kind]).to eq(http_status: 1)
    end

    it "a page whose DOM is refused has error kind :dom_too_large, its title and links, empty rules" do
      crawler = described_class.new(depth: 0, extract: { price: ".price" })
      pages, stats = crawl_all(crawler, site_url("/hostile/dom/formatting-bomb"))
      page = pages.fetch(0)

      expect(page.status).to eq(200)
      expect(page).not_to be_ok
      expect(page.error.kind).to eq(:dom_too_large)
      expect(page.error.message).to include("nest deeper than 256")
      expect(page.title).to eq("Formatting bomb")
      expect(page.links).to eq([site_url("/hostile/dom/target")])
      expect(page.extracted).to eq(price: [])
      expect(stats[:errors_by_kind]).to eq(dom_too_large: 1)
    end

    it "a 500 has error kind :http_status" do
      page = crawl_all(crawler, site_url("/hostile/status/500")).first.fetch(0)

      expect(page.status).to eq(500)
      expect(page.error.kind).to eq(:http_status)
    end

    it "a non-HTML response is a page, not parsed" do
      page = crawl_all(crawler, site_url("/img/3.jpg")).first.fetch(0)

      expect(page.status).to eq(200)
      expect(page.content_type).to eq("image/jpeg")
      expect(page.title).to be_nil
      expect(page.links).to be_empty
    end

    it "an invalid seed has error kind :invalid_url, and the others are crawled" do
      pages, = crawl_all(crawler, ["not a url", "ftp://example.com/x", page_url(1)])
      by_url = pages.to_h { |p| [p.url, p] }

      expect(by_url.keys).to contain_exactly("not a url", "ftp://example.com/x", page_url(1))
      expect(by_url["not a url"].error.kind).to eq(:invalid_url)
      expect(by_url["ftp://example.com/x"].error.kind).to eq(:invalid_url)
      # No HTTP response: status nil (not 0), in the page, its Hash and its inspect.
      expect(by_url["not a url"].status).to be_nil
      expect(by_url["not a url"].to_h).to include(status: nil)
      expect(by_url["not a url"].inspect).to include("status=nil")
      expect(by_url["not a url"]).not_to be_ok
      expect(by_url[page_url(1)]).to be_ok
    end

    it "a seed that is neither a String nor a pair raises TypeError" do
      expect { crawler.crawl([42]) { nil } }.to raise_error(TypeError, /seed/)
      expect { crawler.crawl(42) { nil } }.to raise_error(TypeError, /urls/)
    end
  end

  describe "page values" do
    it "are frozen Strings; body is nil unless keep_body: true" do
      crawler = described_class.new(depth: 0, extract: { price: ".price" }, keep_headers: ["content-type"])
      page = crawl_all(crawler, [[page_url(5), "m"]]).first.fetch(0)

      strings = [page.url, page.final_url, page.content_type, page.title, page.description,
                 page.canonical, page.meta, page[:price], *page.links, *page.headers.keys, *page.headers.values]
      expect(strings).to all(be_a(String).and(be_frozen))
      expect([page.links, page.extracted, page.extracted[:price], page.headers]).to all(be_frozen)
      expect(page.headers).to eq("content-type" => page.content_type)
      expect(page.body).to be_nil

      failed = crawl_all(crawler, site_url("/page/99999.html")).first.fetch(0)
      expect(failed.error.message).to be_frozen
      expect(failed.error).to be_frozen

      with_body = crawl_all(described_class.new(depth: 0, keep_body: true), page_url(5)).first.fetch(0)
      expect(with_body.body).to be_a(String).and(be_frozen).and(include("<title>#{page.title}</title>"))
      expect(with_body.body.encoding).to eq(Encoding::UTF_8)
    end
  end
end

# frozen_string_literal: true

# What many-site crawls meet (issue #15), from Ruby, against the test site's /declarations/ and
# /traps/ pages (crates/ucrawler-testsite/src/declarations.rs and traps.rs document them, with
# the exact pages a correct crawler finds), a page budget over several hosts, and sitemaps.
RSpec.describe UcrawlerNative::Crawler, "many sites" do
  # Paths (with query) of the pages a crawl yields, mapped to the pages, and the crawl's stats.
  def crawl_paths(seeds, **options)
    pages = {}
    stats = described_class.new(**options).crawl(seeds) do |page|
      path = page.url.delete_prefix(base_url)
      raise "#{page.url} yielded twice" if pages.key?(path)

      pages[path] = page
    end
    [pages, stats]
  end

  describe "/declarations/" do
    # declarations::reachable(follow_nofollow_links, canonical_dedup).
    def reachable(follow_nofollow_links: true, canonical_dedup: false)
      paths = %w[/declarations/ /declarations/noindex /declarations/nofollow /declarations/ours
                 /declarations/theirs /declarations/rel-nofollow /declarations/mixed
                 /declarations/dup?ref=a /declarations/dup?ref=b
                 /declarations/behind/noindex /declarations/behind/theirs]
      paths += %w[/declarations/sponsored /declarations/ugc] if follow_nofollow_links
      paths << "/declarations/canonical" if canonical_dedup
      paths
    end

    it "honours X-Robots-Tag for everyone and for ucrawler, not another crawler's" do
      pages, stats = crawl_paths(site_url("/declarations/"))

      expect(pages.keys).to match_array(reachable)
      expect(stats).to include(pages: 13, errors: 0)
      flags = %w[noindex nofollow ours theirs].to_h do |name|
        page = pages.fetch("/declarations/#{name}")
        [name, [page.noindex?, page.nofollow?]]
      end
      expect(flags).to eq("noindex" => [true, false], "nofollow" => [false, true],
                          "ours" => [true, true], "theirs" => [false, false])
      # A nofollow page's links are listed, not followed.
      expect(pages.fetch("/declarations/nofollow").links).to eq([site_url("/declarations/behind/nofollow")])
      expect(pages.keys).not_to include("/declarations/behind/nofollow", "/declarations/behind/ours")
      expect(pages.keys).to include("/declarations/behind/noindex", "/declarations/behind/theirs")
      expect(pages.fetch("/declarations/").noindex?).to be(false)
    end

    it "reports rel=nofollow links, and follows them unless follow_nofollow_links: false" do
      pages, = crawl_paths(site_url("/declarations/"))
      rel = pages.fetch("/declarations/rel-nofollow")
      expect(rel.nofollow_links).to eq([site_url("/declarations/sponsored"), site_url("/declarations/ugc")])
      expect(rel.links).to include(site_url("/declarations/mixed"))
      expect(rel.nofollow?).to be(false)

      pages, = crawl_paths(site_url("/declarations/"), follow_nofollow_links: false)
      expect(pages.keys).to match_array(reachable(follow_nofollow_links: false))
      expect(pages.fetch("/declarations/rel-nofollow").nofollow_links.size).to eq(2)
    end

    it "reports canonical duplicates with canonical_dedup: true and crawls the canonical page once" do
      canonical = site_url("/declarations/canonical")
      pages, = crawl_paths(site_url("/declarations/"), canonical_dedup: true)

      expect(pages.keys).to match_array(reachable(canonical_dedup: true))
      duplicates = pages.reject { |_, page| page.duplicate_of.nil? }
      expect(duplicates.transform_values(&:duplicate_of))
        .to eq("/declarations/dup?ref=a" => canonical, "/declarations/dup?ref=b" => canonical)
      expect(pages.fetch("/declarations/dup?ref=a").canonical).to eq(canonical)
      expect(pages.fetch("/declarations/canonical").duplicate_of).to be_nil

      pages, = crawl_paths(site_url("/declarations/"))
      expect(pages.values.map(&:duplicate_of)).to all(be_nil)
      expect(pages.keys).not_to include("/declarations/canonical")
    end
  end

  describe "/traps/" do
    def kinds(pages)
      { calendar: "/traps/calendar?", grow: "/traps/grow?", loop: "/traps/a/", session: "/traps/session" }
        .transform_values { |prefix| pages.keys.count { |path| path.start_with?(prefix) } }
    end

    # traps::grow_pages: pages of /traps/grow?x, ?xx, ?xxxx... within max_url_length.
    def grow_pages(max_url_length)
      prefix = "#{base_url}/traps/grow?".bytesize
      (0..).take_while { |k| prefix + (2**k) <= max_url_length }.size
    end

    it "end by themselves with the default options, the traps counted in the stats" do
      pages, stats = crawl_paths(site_url("/traps/"), per_host: 8)

      expect(pages.size).to eq(1017)
      expect(kinds(pages)).to eq(calendar: 1000, grow: 12, loop: 2, session: 2)
      expect(stats).to include(pages: 1017, errors: 0, trap_path_loops: 1, trap_query_variants: 2,
                               end_reason: "finished")
      expect(pages.keys).to include("/traps/calendar?month=-400", "/traps/calendar?month=400",
                                    "/traps/a/b/a/b/", "/traps/session?page=2")
      # Session ids are stripped from every link.
      expect(pages.keys.grep(/session/)).to contain_exactly("/traps/session", "/traps/session?page=2")
    end

    it "take max_query_variants and max_url_length" do
      pages, stats = crawl_paths(site_url("/traps/"), max_query_variants: 20, max_url_length: 200)
      grow = grow_pages(200)

      expect(grow).to be_between(1, 19)
      expect(kinds(pages)).to eq(calendar: 20, grow: grow, loop: 2, session: 2)
      expect(pages.size).to eq(1 + 20 + grow + 2 + 2)
      expect(stats).to include(trap_path_loops: 1, trap_query_variants: 2)
      expect(stats[:out_of_scope]).to be >= 1 # the first grown URL past 200 bytes
    end

    it "never end on session ids left in the links: only max_pages stops them" do
      pages, stats = crawl_paths(site_url("/traps/session"), strip_query_params: [], max_pages: 40)

      expect(pages.size).to eq(40)
      expect(pages.keys.count { |path| path.include?(";jsessionid=") }).to be > 10
      expect(stats[:end_reason]).to eq("max_pages")
    end
  end

  describe "max_pages_per_host" do
    before(:all) do
      @dir = Dir.mktmpdir("ucrawler-spec-hosts")
      reader, writer = IO.pipe
      @pid = Process.spawn(TestSite.binary, "serve-testsite", "--pages", "40", "--hosts", "4", "--port", "0",
                           in: File::NULL, out: writer, err: File.join(@dir, "testsite.log"))
      writer.close
      @bases = Array.new(4) do
        raise "the many-host test site printed nothing" unless reader.wait_readable(TestSite::START_LIMIT)

        reader.gets.to_s.strip.chomp("/")
      end
      @reader = reader
    end

    after(:all) do
      ChildProcess.terminate(@pid) if @pid
      @reader&.close
      FileUtils.rm_rf(@dir) if @dir
    end

    it "queues at most that many pages of each host, seeds included" do
      expect(@bases).to all(start_with("http://127.0.0.1:"))
      pages = []
      seeds = @bases.map { |base| "#{base}/" }
      stats = described_class.new(max_pages_per_host: 7).crawl(seeds) { |page| pages << page }

      by_host = pages.group_by { |page| page.url[%r{\Ahttp://[^/]+}] }
      expect(by_host.keys).to match_array(@bases)
      expect(by_host.transform_values(&:size).values).to all(eq(7))
      expect(pages.map(&:url)).to include(*seeds)
      expect(stats[:over_host_budget]).to be_positive
      expect(stats[:over_host_budget_by_host].keys.map(&:to_s))
        .to match_array(@bases.map { |base| base.delete_prefix("http://") })
    end
  end

  it "reads JSON-LD and OpenGraph declarations" do
    pages, = crawl_paths(site_url("/structured/product"), depth: 0)
    product = pages.fetch("/structured/product")

    expect(product.structured("json_ld.name")).to eq("Desk lamp")
    expect(product.structured("json_ld.offers.price")).to eq("19.99")
    expect(product.json_ld_types).to eq(%w[Product BreadcrumbList Organization])
    expect(product.open_graph["og:image"]).to eq(["/img/lamp-1.jpg", "/img/lamp-2.jpg"])
  end

  # Last: the sitemaps option and Page#lastmod are the newest part of the Ruby layer.
  describe "sitemaps: true" do
    it "finds the orphan pages only /sitemap.xml lists, each with its lastmod" do
      pages, stats = crawl_paths(site_url("/"), sitemaps: true, depth: 0)
      orphans = Array.new(20) { |i| "/orphan/#{i}.html" }

      expect(pages.keys).to contain_exactly("/", *orphans)
      expect(orphans.map { |path| pages.fetch(path).lastmod })
        .to eq(Array.new(20) { |i| format("2024-02-%02dT08:00:00+00:00", i + 1) })
      expect(pages.fetch("/orphan/0.html")).to have_attributes(lastmod: "2024-02-01T08:00:00+00:00",
                                                               title: "Orphan 0", status: 200, depth: 0)
      expect(pages.fetch("/").lastmod).to be_nil
      expect(stats[:sitemaps]).to include(read: 1, failed: 0, urls: 20)

      # robots: only robots.txt Sitemap lines, and this site's robots.txt has none.
      pages, = crawl_paths(site_url("/"), sitemaps: "robots", depth: 0)
      expect(pages.keys).to eq(["/"])
    end
  end
end

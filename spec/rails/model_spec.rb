# frozen_string_literal: true

require_relative "rails_helper"

# UcrawlerNative::Model on the app's Site model, on SQLite and, when DATABASE_URL points to one,
# on PostgreSQL (the same examples; they say why they skip otherwise).
RSpec.shared_examples "a crawlable model" do
  before { Site.delete_all }

  # SELECTs that load records back (`sites`.*) and that pluck seeds (id, url).
  let(:record_loads) { /SELECT "sites"\.\* FROM "sites" WHERE "sites"\."id" IN/ }
  let(:seed_plucks) { /SELECT "sites"\."id", "sites"\."url" FROM "sites"/ }

  describe ".crawl" do
    it "yields each record of the relation with its page, plucking seeds and loading records batch by batch" do
      sites = create_sites(25)
      create_sites(3, path: "/page/%<n>d.html") # not in the relation: never crawled
      no_url = Site.create!(url: nil)           # no URL: skipped
      relation = Site.where(id: sites.map(&:id) + [no_url.id])

      yielded = []
      stats = nil
      plucks = count_queries(seed_plucks) do
        loads = count_queries(record_loads) do
          stats = relation.crawl(batch_size: 10) { |site, page| yielded << [site, page] }
        end
        expect(loads).to eq(3) # 10 + 10 + 5 pages: one `WHERE id IN (...)` per batch
      end

      expect(plucks).to eq(3) # 26 rows, 10 per keyset query
      expect(yielded.map(&:first)).to all(be_a(Site))
      expect(yielded.map { |site, page| [site.id, page.url, page.meta] })
        .to match_array(sites.map { |site| [site.id, site.url, site.id] })
      expect(yielded.map(&:last)).to all(satisfy(&:ok?))
      expect(stats).to include(pages: 25, seeds: 25, records_missing: 0, block_errors: 0)
    end

    it "does not scope the block's own queries by the relation" do
      sites = create_sites(4)
      counts = []
      Site.where(id: sites.first.id).crawl { |_site, _page| counts << Site.count }

      expect(counts).to eq([4])
    end

    it "hands pages discovered from a record's URL (depth > 0) the same record" do
      site = Site.create!(url: page_url(5))
      pages = []
      Site.where(id: site.id).crawl(depth: 1, per_host: 8) { |record, page| pages << [record.id, page.depth] }

      expect(pages.size).to be > 5
      expect(pages.map(&:first).uniq).to eq([site.id])
      expect(pages.map(&:last).uniq.sort).to eq([0, 1])
    end

    it "skips (and counts) pages whose record was deleted during the crawl" do
      sites = create_sites(10)
      yielded = []
      stats = Site.where(id: sites.map(&:id)).crawl(batch_size: 5) do |site, _page|
        yielded << site.id
        Site.where.not(id: yielded).delete_all if yielded.size == 5
      end

      expect(yielded.size).to eq(5)
      expect(stats).to include(pages: 10, records_missing: 5)
    end

    it "honours the relation's limit and refuses an offset" do
      sites = create_sites(12)
      ids = []
      Site.where(id: sites.map(&:id)).order(:id).limit(7).crawl(batch_size: 3) { |site, _| ids << site.id }

      expect(ids).to match_array(sites.first(7).map(&:id))
      expect { Site.offset(2).crawl { nil } }.to raise_error(ArgumentError, /offset/)
    end

    it "validates options before any query" do
      queries = count_queries(/SELECT/) do
        expect { Site.crawl(depht: 1) { nil } }.to raise_error(ArgumentError, /depht/)
        expect { Site.crawl(batch_size: 0) { nil } }.to raise_error(ArgumentError, /batch_size/)
        expect { Site.crawl(on_error: :ignore) { nil } }.to raise_error(ArgumentError, /on_error/)
      end
      expect(queries).to eq(0)
    end
  end

  describe ".crawl_ids" do
    it "yields ids as pages arrive, instantiating no record" do
      sites = create_sites(8)
      got = []
      instantiated = events("instantiation.active_record") do
        Site.where(id: sites.map(&:id)).crawl_ids { |id, page| got << [id, page.url] }
      end

      expect(got).to match_array(sites.map { |site| [site.id, site.url] })
      expect(instantiated).to be_empty
    end
  end

  describe ".crawl_and_update" do
    it "writes mapped page fields in batches, one UPDATE statement (atomic) per batch" do
      sites = create_sites(22)
      missing = Site.create!(url: page_url(TestSite::PAGES + 50)) # 404
      private = Site.create!(url: site_url("/private/secret.html")) # robots.txt: disallowed
      ids = sites.map(&:id) + [missing.id, private.id]
      created = Site.find(sites.first.id).updated_at
      started = Time.current

      stats = nil
      updates = count_queries(/\AUPDATE "sites"/) do
        stats = Site.where(id: ids).crawl_and_update(title: :title, http_status: :status, crawl_error: :error,
                                                     crawled_at: :now, batch_size: 10)
      end

      expect(updates).to eq(3)
      expect(stats).to include(pages: 24, seeds: 24, rows_written: 24)
      expect(Site.where(id: sites.map(&:id)).pluck(:title, :http_status, :crawl_error).uniq)
        .to eq([["Many links target", 200, nil]])
      expect(missing.reload).to have_attributes(http_status: 404, crawl_error: "http_status")
      expect(private.reload).to have_attributes(http_status: nil, crawl_error: "robots_disallowed", title: nil)
      crawled = Site.where(id: ids).pluck(:crawled_at)
      expect(crawled).to all(be_between(started.floor(6) - 1, Time.current + 1))
      expect(Site.find(sites.first.id).updated_at).to be > created # updated_at is touched
    end

    it "uses the mapping declared with `crawls ..., update:` and takes callables and extract rules" do
      sites = create_sites(3, path: "/page/%<n>d.html")
      Site.where(id: sites.map(&:id)).crawl_and_update

      expect(Site.pluck(:title)).to all(start_with("Page "))
      expect(Site.pluck(:http_status)).to all(eq(200))

      Site.where(id: sites.map(&:id)).crawl_and_update(
        { note: ->(page) { "#{page.links.size} links" }, title: "extract.heading" },
        extract: { heading: "h1" }
      )
      expect(Site.pluck(:note)).to all(match(/\A\d+ links\z/))
      expect(Site.pluck(:title)).to all(be_a(String).and(satisfy { |t| !t.empty? }))
    end

    it "names an unknown column, page field or option before crawling" do
      expect { Site.crawl_and_update(titel: :title) }.to raise_error(ArgumentError, /titel/)
      expect { Site.crawl_and_update(title: :titel) }.to raise_error(ArgumentError, /titel/)
      expect { Site.crawl_and_update({ title: :title }, per_hots: 2) }.to raise_error(ArgumentError, /per_hots/)
      expect { Site.crawl_and_update({ nope: :title }) }.to raise_error(ArgumentError, /nope/)
    end
  end

  # 100,000 rows crawled with flat memory: depth 0, every row a distinct URL on the test site
  # ("/hostile/many-links/<id % 50>?r=<id>": small pages, so the engine's parse time does not
  # dominate; the point here is the Ruby side).
  describe "a table of 100,000 rows", timeout: 180 do
    let(:rows) { 100_000 }
    let(:batch_size) { 1000 }

    before do
      conn = Site.connection
      prefix = conn.quote(site_url("/hostile/many-links/"))
      conn.execute(<<~SQL)
        INSERT INTO sites (url, created_at, updated_at)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < #{rows})
        SELECT #{prefix} || (i % 50) || '?r=' || i, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM n
      SQL
    end

    # Live Site instances and live heap slots (after a full GC), every 10,000 pages.
    def sample(samples)
      GC.start
      samples << [ObjectSpace.each_object(Site).count, GC.stat(:heap_live_slots)]
    end

    it "crawls every row once with its record while live objects stay bounded" do
      ids = Site.pluck(:id)
      first = ids.min
      seen = "\0".b * (ids.max - first + 1) # one byte per row: the spec's own check, not the crawl's state
      ids = nil
      samples = []
      count = 0
      GC.start
      stats = Site.crawl(batch_size: batch_size, per_host: 64) do |site, page|
        raise "#{page.url}: #{page.error}" unless page.ok? && page.meta == site.id

        seen.setbyte(site.id - first, seen.getbyte(site.id - first) + 1)
        count += 1
        sample(samples) if (count % 10_000).zero?
      end

      expect(stats).to include(pages: rows, seeds: rows, errors: 0, records_missing: 0)
      expect(seen.count("\x01")).to eq(rows)
      expect(samples.size).to eq(10)
      expect(samples.map(&:first).max).to be <= 5 * batch_size
      slots = samples.map(&:last)
      # Per-row state would grow the heap by >= 90,000 slots between the first and last sample.
      expect(slots.max - slots.first).to be < 20_000, "live slots per 10k pages: #{slots.inspect}"
    end

    it "crawl_and_update writes every row, instantiating no record, heap flat" do
      samples = []
      count = 0
      GC.start
      on_page = ->(*) { sample(samples) if ((count += 1) % 10_000).zero? }
      stats = ActiveSupport::Notifications.subscribed(on_page, "page.ucrawler_native") do
        Site.crawl_and_update(title: :title, http_status: :status, crawled_at: :now,
                              batch_size: batch_size, per_host: 64)
      end

      expect(stats).to include(pages: rows, rows_written: rows, errors: 0)
      expect(Site.where(title: "Many links target", http_status: 200).where.not(crawled_at: nil).count).to eq(rows)
      expect(samples.map(&:first).max).to eq(0)
      slots = samples.map(&:last)
      expect(slots.max - slots.first).to be < 20_000, "live slots per 10k pages: #{slots.inspect}"
    end
  end
end

RSpec.describe "UcrawlerNative::Model on SQLite", :rails do
  it_behaves_like "a crawlable model"
end

RSpec.describe "UcrawlerNative::Model on PostgreSQL", :rails do
  before(:context) do
    skip RailsSpec::POSTGRES_SKIP unless RailsSpec::POSTGRES_URL
    RailsSpec.use_postgres
  end

  after(:context) { RailsSpec.use_sqlite }

  it "runs on PostgreSQL" do
    expect(RailsSpec.database_name).to eq("PostgreSQL")
  end

  it_behaves_like "a crawlable model"
end

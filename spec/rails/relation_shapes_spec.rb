# frozen_string_literal: true

require_relative "rails_helper"

# Every shape of relation a Rails developer writes crawls the rows that relation selects: the
# ids ActiveRecord itself plucks from it are the ground truth. On SQLite and, when DATABASE_URL
# points to one, on PostgreSQL.
RSpec.shared_examples "relation shapes" do
  before do
    Tag.delete_all
    Site.delete_all
    # Titles out of id order, so an order on them selects other rows than an order on ids.
    @sites = create_sites(8).each_with_index.map do |site, i|
      site.update_columns(title: format("t%<n>d", n: (i * 5) % 8))
      site
    end
    @sites.first(3).each { |site| 2.times { |n| Tag.create!(site_id: site.id, name: "tag#{n}") } }
    @sites[5].then { |site| Tag.create!(site_id: site.id, name: "tag0") }
  end

  def shapes
    {
      "order(id: :desc).limit(3)" => Site.order(id: :desc).limit(3),
      "order(\"id DESC\").limit(2)" => Site.order("id DESC").limit(2),
      "order(:title).limit(3) (another column)" => Site.order(:title).limit(3),
      "order(title: :desc).limit(2)" => Site.order(title: :desc).limit(2),
      "order(:title, :id).limit(4)" => Site.order(:title, :id).limit(4),
      "limit(3), no order" => Site.limit(3),
      "order(:title), no limit" => Site.order(:title),
      "order(id: :desc), no limit" => Site.order(id: :desc),
      "distinct.limit(2)" => Site.distinct.limit(2),
      "distinct.order(:title).limit(2)" => Site.distinct.order(:title).limit(2),
      "joins(:tags)" => Site.joins(:tags),
      "joins(:tags).where(tags: { name: \"tag0\" })" => Site.joins(:tags).where(tags: { name: "tag0" }),
      "joins(:tags).order(\"tags.name DESC\", :id).limit(2)" => Site.joins(:tags).order("tags.name DESC", :id).limit(2),
      "where.not(title: [\"t0\", \"t5\"])" => Site.where.not(title: %w[t0 t5]),
      "none" => Site.none,
      "scope with an order: by_title.limit(2)" => Site.by_title.limit(2),
      "scope with an order, reordered: by_title.reorder(id: :desc).limit(2)" => Site.by_title.reorder(id: :desc).limit(2)
    }
  end

  it "crawl_ids, crawl and crawl_and_update take exactly the rows the relation selects, each once" do
    shapes.each do |label, relation|
      # SQL leaves the rows of a limit without an order to the database: the crawl takes the
      # lowest ids (as documented).
      expected = (relation.order_values.empty? ? relation.order(:id) : relation).map(&:id).uniq
      ids = []
      stats = relation.crawl_ids(batch_size: 2) { |id, _page| ids << id }
      expect(ids).to match_array(expected), "crawl_ids on #{label}: got #{ids.sort}, want #{expected.sort}"
      expect(stats[:seeds]).to eq(expected.size), label

      records = []
      relation.crawl(batch_size: 2) { |site, _page| records << site.id }
      expect(records).to match_array(expected), "crawl on #{label}"

      Site.update_all(note: nil)
      relation.crawl_and_update({ note: ->(_page) { "written" } }, batch_size: 2)
      expect(Site.where(note: "written").pluck(:id)).to match_array(expected), "crawl_and_update on #{label}"
    end
  end

  it "the highest ids for order(id: :desc).limit(n), as the issue's example" do
    ids = []
    Site.order(id: :desc).limit(3).crawl_ids { |id, _| ids << id }

    expect(ids).to match_array(@sites.last(3).map(&:id))
  end

  it "none runs no query" do
    queries = count_queries(/SELECT/) { Site.none.crawl_ids { |_, _| raise "no page expected" } }

    expect(queries).to eq(0)
  end

  it "crawl_later enqueues exactly the relation's ids" do
    { Site.order(id: :desc).limit(3) => @sites.last(3), Site.order(:title).limit(2) => Site.order(:title).limit(2).to_a,
      Site.joins(:tags) => @sites.first(3) + [@sites[5]] }.each do |relation, sites|
      Site.update_all(crawled_at: nil)
      jobs = relation.crawl_later(ids_per_job: 2, with: "update", update: { crawled_at: :now })

      expect(jobs).to eq((sites.size / 2.0).ceil)
      expect(eventually(limit: 30) { Site.where.not(crawled_at: nil).count == sites.size }).to be(true)
      sleep 0.3 # a job enqueued for a wrong row would have written it by now
      expect(Site.where.not(crawled_at: nil).pluck(:id)).to match_array(sites.map(&:id))
    end
  end
end

RSpec.describe "Relation shapes on SQLite", :rails do
  it_behaves_like "relation shapes"
end

RSpec.describe "Relation shapes on PostgreSQL", :rails do
  before(:context) do
    skip RailsSpec::POSTGRES_SKIP unless RailsSpec::POSTGRES_URL
    RailsSpec.use_postgres
  end

  after(:context) { RailsSpec.use_sqlite }

  it_behaves_like "relation shapes"
end

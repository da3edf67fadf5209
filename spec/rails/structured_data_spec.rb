# frozen_string_literal: true

require_relative "rails_helper"

# crawl_and_update with what pages declare as sources: "og:title" (a property's first value),
# "json_ld.offers.price" (the first match in the JSON-LD nodes), and json_ld / open_graph whole,
# checked where declared, written as declared (ActiveRecord casts to the column).
RSpec.shared_examples "structured data sources" do
  before(:context) do
    ActiveRecord::Schema.define do
      create_table :products, force: true do |t|
        t.string :url
        t.string :name
        t.string :og_title
        t.string :og_image
        t.string :schema_type
        t.decimal :price, precision: 10, scale: 2
        t.datetime :published_at
        t.json :json_ld
        t.json :open_graph
        t.string :crawl_error
      end
    end
  end

  after(:context) { ActiveRecord::Base.connection.drop_table(:products, if_exists: true) }

  # A model on the products table, its `crawls` declaration `update`.
  def product_model(update)
    klass = Class.new(ApplicationRecord) { self.table_name = "products" }
    stub_const("Product", klass)
    klass.include(UcrawlerNative::Model)
    klass.crawls :url, depth: 0, update: update
    klass
  end

  let(:mapping) do
    { name: "json_ld.name", og_title: "og:title", og_image: "OG:Image", schema_type: "json_ld.@type",
      price: "json_ld.offers.price", published_at: "article:published_time", json_ld: :json_ld,
      open_graph: :open_graph, crawl_error: :error }
  end

  it "writes the declared values, cast by ActiveRecord, and nil where a page declares nothing" do
    model = product_model(mapping)
    product = model.create!(url: site_url("/structured/product"))
    og = model.create!(url: site_url("/structured/open-graph"))
    plain = model.create!(url: site_url("/structured/"))
    no_url = model.create!(url: nil)

    stats = model.crawl_and_update
    expect(stats).to include(seeds: 3, no_url: 1, rows_written: 4)

    expect(product.reload).to have_attributes(
      name: "Desk lamp", og_title: "Desk lamp — Example shop", og_image: "/img/lamp-1.jpg",
      schema_type: "Product", price: BigDecimal("19.99"), published_at: nil, crawl_error: nil
    )
    expect(product.json_ld.first).to include("@type" => "Product")
    expect(product.open_graph).to include("og:image" => ["/img/lamp-1.jpg", "/img/lamp-2.jpg"])
    expect(og.reload.published_at).to eq(Time.utc(2024, 5, 1, 10))
    expect(og.og_title).to eq("Mixed case & spaces")
    expect(plain.reload).to have_attributes(name: nil, og_title: nil, price: nil, json_ld: [], open_graph: {})
    expect(no_url.reload).to have_attributes(crawl_error: "no_url", og_title: nil, price: nil)
  end

  it "refuses a malformed path where it is declared, naming the near miss" do
    expect { product_model(og_title: "og.title") }
      .to raise_error(ArgumentError, /unknown page field "og.title": .*\("og:title"\)/)
    expect { product_model(price: "json_ld..price") }
      .to raise_error(ArgumentError, /unknown page field "json_ld..price": .*"json_ld.offers.price"/)
    expect { product_model(og_title: "fb:app_id") }.to raise_error(ArgumentError, /og:NAME.*twitter:/)
    # Types are checked before the first crawl (the database is needed): a declared value may be
    # anything, and fits any column; all of json_ld is a list.
    expect { product_model(price: :json_ld).crawl_and_update }
      .to raise_error(ArgumentError, /"price" \(decimal\) cannot hold :json_ld/)
    model = product_model(price: "json_ld.offers.price", published_at: "og:updated_time", crawl_error: "twitter:card")
    expect(model.where(id: nil).crawl_and_update).to include(seeds: 0)
  end
end

RSpec.describe "Structured data sources in crawl_and_update on SQLite", :rails do
  it_behaves_like "structured data sources"
end

RSpec.describe "Structured data sources in crawl_and_update on PostgreSQL", :rails do
  before(:context) do
    skip RailsSpec::POSTGRES_SKIP unless RailsSpec::POSTGRES_URL
    RailsSpec.use_postgres
  end

  after(:context) { RailsSpec.use_sqlite }

  it_behaves_like "structured data sources"
end

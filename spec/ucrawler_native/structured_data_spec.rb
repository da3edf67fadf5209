# frozen_string_literal: true

# What pages declare in structured data, from the test site's /structured/ pages: JSON-LD blocks
# and OpenGraph / Twitter card properties, as frozen, memoized Ruby values.
RSpec.describe UcrawlerNative::Page, "structured data" do
  def pages
    @pages ||= begin
      pages = {}
      UcrawlerNative::Crawler.new(depth: 1).crawl(site_url("/structured/")) do |page|
        pages[page.url.delete_prefix(base_url)] = page
      end
      pages
    end
  end

  def deep_frozen?(value)
    case value
    when Hash then value.frozen? && value.all? { |key, item| key.frozen? && deep_frozen?(item) }
    when Array then value.frozen? && value.all? { |item| deep_frozen?(item) }
    else value.frozen?
    end
  end

  it "gives JSON-LD blocks as they are: Hashes with String keys, @graph kept, deep-frozen and memoized" do
    product = pages.fetch("/structured/product")

    expect(product.json_ld.size).to eq(2)
    expect(product.json_ld[0]).to include("@type" => "Product", "name" => "Desk lamp",
                                          "offers" => { "@type" => "Offer", "price" => "19.99", "priceCurrency" => "EUR" })
    expect(product.json_ld[1]["@graph"].map { |node| node["@type"] }).to eq(%w[BreadcrumbList Organization])
    expect(product.json_ld[1].dig("@graph", 0, "itemListElement", 0, "position")).to eq(1)
    expect(deep_frozen?(product.json_ld)).to be(true)
    expect(product.json_ld).to equal(product.json_ld)
    expect(product.json_ld_types).to eq(%w[Product BreadcrumbList Organization]).and be_frozen
    expect(product.json_ld_errors).to eq([]).and be_frozen
    expect(product.to_h).to include(json_ld: product.json_ld, open_graph: product.open_graph)
  end

  it "reports invalid and over-cap blocks in json_ld_errors, keeping the others" do
    invalid = pages.fetch("/structured/invalid")
    expect(invalid.json_ld).to eq([{ "@type" => "WebPage", "name" => "Fine" }])
    expect(invalid.json_ld_errors).to match([/\Ablock 1: trailing comma/, /\Ablock 3: EOF while parsing/])

    huge = pages.fetch("/structured/huge")
    expect(huge.json_ld.map { |block| block["name"] }).to eq(["After the huge one"])
    expect(huge.json_ld_errors).to eq(["block 1: longer than 262144 bytes, not parsed"])

    many = pages.fetch("/structured/many")
    expect(many.json_ld.size).to eq(16)
    expect(many.json_ld_errors).to eq(["24 more blocks past the first 16 not read"])
  end

  it "gives OpenGraph and Twitter card properties by lowercase name, each with its values" do
    product = pages.fetch("/structured/product")
    expect(product.open_graph).to eq(
      "og:title" => ["Desk lamp — Example shop"], "og:type" => ["product"],
      "og:image" => ["/img/lamp-1.jpg", "/img/lamp-2.jpg"], "twitter:card" => ["summary_large_image"]
    )
    expect(deep_frozen?(product.open_graph)).to be(true)
    expect(product.open_graph).to equal(product.open_graph)

    og = pages.fetch("/structured/open-graph")
    expect(og.open_graph["og:title"]).to eq(["Mixed case & spaces"])
    expect(og.open_graph["og:description"].first.bytesize).to eq(2048)
    expect(og.open_graph.values.sum(&:size)).to eq(64)
    expect(og.open_graph.keys).not_to include("description", "fb:app_id")
  end

  it "reads one declared value by path" do
    product = pages.fetch("/structured/product")

    expect(product.structured("og:title")).to eq("Desk lamp — Example shop")
    expect(product.structured("OG:Image")).to eq("/img/lamp-1.jpg")
    expect(product.structured("json_ld.offers.price")).to eq("19.99")
    expect(product.structured("json_ld.@type")).to eq("Product")
    expect(product.structured("json_ld.image.1")).to eq("/img/lamp-2.jpg")
    expect(product.structured("json_ld.itemListElement.0.position")).to eq(1)
    expect(product.structured("json_ld.offers")).to include("price" => "19.99").and be_frozen
    expect(product.structured("json_ld.nope")).to be_nil
    expect(product.structured("twitter:title")).to be_nil
    expect(pages.fetch("/structured/open-graph").structured("article:published_time")).to eq("2024-05-01T10:00:00Z")
    expect { product.structured("og.title") }.to raise_error(ArgumentError, /not a structured data path: "og.title"/)
    expect { product.structured("json_ld..x") }.to raise_error(ArgumentError)
  end

  it "is empty on a page that declares nothing" do
    index = pages.fetch("/structured/")
    expect([index.json_ld, index.json_ld_errors, index.json_ld_types]).to all(eq([]).and(be_frozen))
    expect(index.open_graph).to eq({}).and be_frozen
    expect(index.structured("json_ld.name")).to be_nil
  end

  it "knows its paths" do
    expect(%w[og:title twitter:card article:tag json_ld.@type json_ld.offers.price])
      .to all(satisfy { |path| described_class.structured_path?(path) })
    expect(["og.title", "json_ld", "json_ld.", "json_ld..x", "fb:app_id", "og:", "title"])
      .to all(satisfy { |path| !described_class.structured_path?(path) })
    expect(described_class::OPEN_GRAPH_PREFIXES).to include("og:", "twitter:").and be_frozen
  end
end

# frozen_string_literal: true

# `render:` from Ruby (issue #18): pages whose title and links exist only after their scripts
# run (the test site's /render/ pages, crates/ucrawler-testsite/src/render.rs), rendered in
# Debian's headless Chromium (bin/setup installs it; never skipped).
RSpec.describe UcrawlerNative::Crawler, "render" do
  script_pages = (1..12).map { |i| "/render/p/#{i}" }

  def crawl_pages(seeds, **options)
    pages = {}
    stats = described_class.new(**options).crawl(seeds) { |page| pages[page.url.delete_prefix(base_url)] = page }
    [pages, stats]
  end

  it "render: :auto renders the shells and finds every script-built page" do
    pages, stats = crawl_pages(site_url("/render/"), render: :auto)

    expect(pages.keys).to match_array(["/render/", *script_pages])
    expect(pages.values).to all(be_ok)
    expect(pages.values.map(&:rendered?)).to all(be(true))
    expect(pages["/render/p/3"].title).to eq("Render: page 3")
    expect(pages["/render/"].render_time).to be > 0
    expect(pages["/render/"].to_h).to include(rendered: true)
    expect(stats[:render]).to include(rendered: 13, shells: 13, not_shells: 0, failed: 0)
    expect(stats[:render][:browser_starts]).to be >= 1
  end

  it "without render: only the shell; render: false is never and true is always" do
    pages, stats = crawl_pages(site_url("/render/"), render: false)
    expect(pages.keys).to eq(["/render/"])
    expect(pages["/render/"].rendered?).to be(false)
    expect(pages["/render/"].render_time).to eq(0.0)
    expect(stats[:render][:rendered]).to eq(0)

    pages, stats = crawl_pages(site_url("/"), render: true, depth: 0)
    expect(pages["/"].rendered?).to be(true)
    expect(stats[:render]).to include(rendered: 1, shells: 0)
  end

  it "takes the render options with Ruby values and names a wrong one" do
    pages, stats = crawl_pages(site_url("/render/never"), render: :always, depth: 0,
                                                           render_timeout: 1.5, render_memory: "1GiB",
                                                           render_tabs: 2, render_hosts: ["127.0.0.1"],
                                                           render_wait_for: nil, render_block_media: true)
    expect(pages["/render/never"].rendered?).to be(true)
    expect(stats[:render][:unsettled]).to eq(1)

    expect { described_class.new(render: :sometimes) }.to raise_error(UcrawlerNative::ConfigError, /render.*never, always or auto|unknown variant/)
    expect { described_class.new(render_tabs: 0) }.to raise_error(UcrawlerNative::ConfigError, /render_tabs/)
    expect { described_class.new(render_wait_for: "###") }.to raise_error(UcrawlerNative::ConfigError, /render_wait_for/)
    expect { described_class.new(render_hosts: ["http://x/"]) }.to raise_error(UcrawlerNative::ConfigError, /render_hosts/)
  end

  it "a missing browser is a page error naming the package, not a crash" do
    pages, stats = crawl_pages(site_url("/render/"), render: :always, render_browser: "/nonexistent/chromium")

    error = pages["/render/"].error
    expect(error.kind).to eq(:render)
    expect(error.message).to match(/chromium/)
    expect(stats[:render][:failed]).to eq(1)
  end

  it "renders in a forked child after the parent did (the child starts its own browser)" do
    crawl_pages(site_url("/render/"), render: :auto, depth: 0)
    reader, writer = IO.pipe
    pid = fork do
      reader.close
      pages, = crawl_pages(site_url("/render/"), render: :auto)
      writer.write(pages.keys.sort.join(","))
      writer.close
      exit!(0)
    end
    writer.close
    found = reader.read
    wait_child(pid, limit: 60)
    expect(found.split(",")).to match_array(["/render/", *script_pages])
  end
end

# frozen_string_literal: true

RSpec.describe "UcrawlerNative.metrics" do
  def sample(text, series)
    text.each_line.find { |line| line.start_with?("#{series} ") }&.split&.last&.to_f
  end

  it "is the Prometheus text of the crawls running in this process, labelled by name" do
    seen = nil
    # A page that drips until the 2 s timeout keeps the crawl running while the first block runs
    # (with two quick pages the engine could be finished by then: a flake seen in bin/test).
    UcrawlerNative::Crawler.new(depth: 0, timeout: 2).crawl([page_url(1), slow_drip_url]) do |page|
      seen ||= UcrawlerNative.metrics if page.url == page_url(1)
    end

    expect(seen).to include("# TYPE ucrawler_pages_total counter")
    expect(sample(seen, 'ucrawler_pages_total{crawl="crawl"}')).to be >= 1
    expect(sample(seen, 'ucrawler_finished{crawl="crawl"}')).to eq(0)
    # Over: no crawl left to report, only the families' HELP and TYPE lines.
    expect(UcrawlerNative.metrics.lines.reject { |line| line.start_with?("#") }).to be_empty
  end

  it "tells two crawls of one name apart" do
    outer = nil
    crawler = UcrawlerNative::Crawler.new(depth: 0)
    crawler.crawl([page_url(3)]) do
      crawler2 = UcrawlerNative::Crawler.new(depth: 0)
      crawler2.crawl([page_url(4)]) { outer ||= UcrawlerNative.metrics }
    end
    expect(outer).to include('ucrawler_pages_total{crawl="crawl"}').and include('ucrawler_pages_total{crawl="crawl-2"}')
  end
end

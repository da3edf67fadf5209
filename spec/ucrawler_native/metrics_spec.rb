# frozen_string_literal: true

RSpec.describe "UcrawlerNative.metrics" do
  def sample(text, series)
    text.each_line.find { |line| line.start_with?("#{series} ") }&.split&.last&.to_f
  end

  it "is the Prometheus text of the crawls running in this process, labelled by name" do
    seen = nil
    pages = 0
    UcrawlerNative::Crawler.new(depth: 0).crawl([page_url(1), page_url(2)]) do |_page|
      pages += 1
      seen ||= UcrawlerNative.metrics
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

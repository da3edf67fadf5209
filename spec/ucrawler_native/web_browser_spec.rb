# frozen_string_literal: true

require "rack"
require "rack/handler/webrick"
require "securerandom"
require "selenium-webdriver"
require "webrick"
require "ucrawler_native/web"

# The dashboard in a real browser: headless Debian chromium (packages chromium, chromium-driver,
# ruby-selenium-webdriver) driven by selenium-webdriver, against UcrawlerNative::Web mounted at
# /crawler in a real HTTP server (WEBrick, in a thread) on 127.0.0.1, a throwaway redis-server and
# a shared crawl crawled by a real worker. Never skipped: a missing browser fails the run.
module DashboardBrowser
  CHROMIUM = "/usr/bin/chromium"
  CHROMEDRIVER = "/usr/bin/chromedriver"
  STALE = [Selenium::WebDriver::Error::NoSuchElementError, Selenium::WebDriver::Error::StaleElementReferenceError].freeze

  module_function

  # Headless chromium keeping its console log (to check that the page logs no error).
  def driver
    [CHROMIUM, CHROMEDRIVER].each do |path|
      raise "#{path} is missing: apt-get install chromium chromium-driver (bin/setup does)" unless File.executable?(path)
    end
    options = Selenium::WebDriver::Chrome::Options.new(binary: CHROMIUM,
                                                       args: %w[--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage])
    options.add_option("goog:loggingPrefs", { browser: "ALL" })
    Selenium::WebDriver.for(:chrome, options: options, service: Selenium::WebDriver::Chrome::Service.new(path: CHROMEDRIVER))
  end

  # A WEBrick server on a free port of 127.0.0.1 serving `app` (not started).
  def server(app)
    server = WEBrick::HTTPServer.new(BindAddress: "127.0.0.1", Port: 0, Logger: WEBrick::Log.new(File::NULL), AccessLog: [])
    server.mount("/", Rack::Handler::WEBrick, app)
    server
  end
end

RSpec.describe "UcrawlerNative::Web in a browser" do
  before(:all) do
    @redis = RedisServer.new.start
    UcrawlerNative::Web.redis = @redis.url
    UcrawlerNative::Web.basic_auth("ops", "pa55")
    @server = DashboardBrowser.server(Rack::URLMap.new("/crawler" => UcrawlerNative::Web))
    @server_thread = Thread.new { @server.start }
    @driver = DashboardBrowser.driver
    # Basic auth once through the URL; the browser then sends it with every request of the page.
    @driver.navigate.to("http://ops:pa55@127.0.0.1:#{@server.config[:Port]}/crawler/")
  end

  after(:all) do
    @driver&.quit
    @server&.shutdown
    @server_thread&.join(5)
    @redis&.stop
    UcrawlerNative::Web.reset!
  end

  let(:driver) { @driver }
  let(:name) { "shop-#{SecureRandom.hex(3)}" }
  let(:crawl_css) { %(section.crawl[data-crawl="#{name}"]) }

  def wait_until(limit: 20, &block)
    Selenium::WebDriver::Wait.new(timeout: limit, interval: 0.1, ignore: DashboardBrowser::STALE).until(&block)
  end

  # The text of the first element matching `css`, found afresh (the page redraws every 2 s).
  def text(css) = wait_until { driver.find_element(css: css).text }

  def field(field) = text(%(#{crawl_css} [data-field="#{field}"]))

  # Clicks an action button and answers its confirm() dialog; returns the dialog's text.
  def act(action, accept: true)
    wait_until { driver.find_element(css: %(#{crawl_css} form[data-action="#{action}"] button)).click || true }
    dialog = wait_until { driver.switch_to.alert }
    question = dialog.text
    accept ? dialog.accept : dialog.dismiss
    question
  end

  # The crawl as the engine reads it from Redis now, not as the page shows it.
  def in_redis
    overview = JSON.parse(UcrawlerNative::Native.dashboard_overview(@redis.url, "ucrawler", []))
    overview["shared"].find { |crawl| crawl["name"] == name }
  end

  it "shows a running shared crawl and pauses, resumes and requeues it from its buttons", timeout: 240 do
    frontier = UcrawlerNative::RedisFrontier.new(url: @redis.url, name: name)
    ok = (1..5).map { |n| page_url(n) }
    missing = (1..3).map { |n| site_url("/missing/#{n}") }
    # Never-ending pages keep the worker busy (and the crawl running) while the browser looks.
    drips = (1..2).map { |n| "#{slow_drip_url}?n=#{n}" }
    expect(frontier.push(ok + missing + drips)).to include(queued: 10)
    worker = Thread.new do
      UcrawlerNative::Crawler.new(frontier: frontier, follow: true, depth: 0, per_host: 8, timeout: 600).crawl { nil }
    end
    expect(eventually(limit: 60) { frontier.stats.values_at(:done, :failed) == [5, 3] }).to be(true)

    driver.navigate.refresh
    wait_until { field("state") == "running" && field("done") == "5" && field("failed") == "3" }
    expect(field("pending")).to eq("0")
    expect(field("leased")).to eq("2")
    expect(text(%(#{crawl_css} h3))).to eq(name)
    expect(text(%(#{crawl_css} figcaption))).to include("pages/s", "errors/s", "last hour")
    expect(driver.find_elements(css: %(#{crawl_css} svg.chart polyline)).size).to eq(2)
    # Its live workers (this process's, here), one row each.
    workers = in_redis["workers"]
    wait_until { driver.find_elements(css: %(#{crawl_css} tr[data-worker])).size == workers.size }
    workers.each do |worker|
      expect(text(%(#{crawl_css} tr[data-worker="#{worker["id"]}"] td))).to eq("#{worker["host"]} (pid #{worker["pid"]})")
    end
    # The worker's crawl runs in this process too: the local table lists it.
    expect(text(%(#local-body tr[data-crawl="#{name}"] [data-field="end_reason"]))).to eq("running")
    # ...with its own last hour, drawn like a shared crawl's.
    expect(text(%(#local-body .local-chart[data-crawl="#{name}"] h3))).to eq(name)
    expect(driver.find_elements(css: %(#local-body .local-chart[data-crawl="#{name}"] svg.chart polyline)).size).to eq(2)
    expect(text("#redis")).to include("Redis #{@redis.url}", "prefix ucrawler")

    expect(act("pause")).to include(%(Pause crawl "#{name}"?))
    wait_until { field("state") == "paused" }
    expect(text("#notice")).to eq("#{name}: now paused.")
    expect(in_redis["state"]).to eq("paused")

    expect(act("cancel", accept: false)).to include("Cancel crawl")
    sleep 2.5 # a poll later, still paused: a dismissed dialog sends nothing
    expect([field("state"), in_redis["state"]]).to eq(%w[paused paused])

    act("resume")
    wait_until { field("state") == "running" }
    expect(in_redis["state"]).to eq("running")

    act("requeue_failed")
    wait_until { text("#notice") == "#{name}: requeued 3 failed pages." }

    expect(driver.logs.get(:browser).select { |entry| entry.level == "SEVERE" }.map(&:message)).to eq([])
  ensure
    worker&.kill&.join(20)
  end

  it "shows every value as text, never as HTML" do
    name = %(<img_src=x_onerror=document.title='owned'>)
    UcrawlerNative::RedisFrontier.new(url: @redis.url, name: name).push(page_url(9))
    driver.navigate.refresh
    section = wait_until { driver.find_elements(css: "section.crawl").find { |s| s.find_element(css: "h3").text == name } }
    expect(section.find_elements(css: "img")).to be_empty
    expect(section.find_element(css: %(form[data-action="pause"])).dom_attribute("action"))
      .to eq("/crawler/api/crawls/%3Cimg_src%3Dx_onerror%3Ddocument.title%3D'owned'%3E/pause")
    expect(driver.title).to eq("ucrawler dashboard")

    # The action reaches that crawl (its name encoded in the path, decoded by the app).
    section.find_element(css: %(form[data-action="pause"] button)).click
    wait_until { driver.switch_to.alert }.accept
    wait_until { text("#notice") == "#{name}: now paused." }
    expect(JSON.parse(UcrawlerNative::Native.dashboard_overview(@redis.url, "ucrawler", []))["shared"]
      .find { |crawl| crawl["name"] == name }["state"]).to eq("paused")
  end

  it "says clearly when Redis is unreachable or not configured" do
    UcrawlerNative::Web.redis = "redis://127.0.0.1:1/0"
    driver.navigate.refresh
    wait_until { text("#redis").start_with?("Redis unreachable: redis://127.0.0.1:1/0") }
    expect(driver.find_element(css: "#redis").attribute("class")).to include("alert")

    UcrawlerNative::Web.redis = nil
    driver.navigate.refresh
    wait_until { text("#redis").start_with?("Redis not configured") }
    expect(text("#shared-body")).to eq("No Redis configured.")
  ensure
    UcrawlerNative::Web.redis = @redis.url
  end
end

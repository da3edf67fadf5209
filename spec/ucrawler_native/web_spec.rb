# frozen_string_literal: true

require "rack/lint"
require "rack/mock"
require "securerandom"
require "ucrawler_native/web"

# The dashboard's Rack app through Rack::MockRequest, mounted at /crawler as `mount` does
# (SCRIPT_NAME), on a throwaway redis-server. The real browser test is web_browser_spec.rb.
RSpec.describe UcrawlerNative::Web do
  before(:all) { @redis = RedisServer.new.start }
  after(:all) { @redis&.stop }
  after { described_class.reset! }

  let(:app) { Rack::URLMap.new("/crawler" => Rack::Lint.new(described_class)) }
  let(:client) { Rack::MockRequest.new(app) }
  let(:token) { UcrawlerNative::Web::Csrf.token(described_class.secret) }
  let(:name) { "web-#{SecureRandom.hex(4)}" }
  let(:routes) do
    [[:get, "/crawler/"], [:get, "/crawler"], [:get, "/crawler/assets/app.js"], [:get, "/crawler/assets/app.css"],
     [:get, "/crawler/api/overview.json"], [:post, "/crawler/api/crawls/x/pause"], [:get, "/crawler/nope"]]
  end

  def json(response) = JSON.parse(response.body)

  def post(path, headers: { "HTTP_X_CSRF_TOKEN" => token }, **env)
    client.post(path, headers.merge(env))
  end

  # A shared crawl with two pages queued under the default prefix.
  def shared_crawl
    UcrawlerNative::RedisFrontier.new(url: @redis.url, name: name).tap { |f| f.push([page_url(1), page_url(2)]) }
  end

  describe "access" do
    it "is locked by default: 403 text/plain on every route, never the data" do
      described_class.redis = @redis.url
      shared_crawl
      expect(described_class.access).to eq(:locked)
      routes.each do |method, path|
        response = client.public_send(method, path, "HTTP_X_CSRF_TOKEN" => token)
        expect([path, response.status, response.content_type]).to eq([path, 403, "text/plain; charset=utf-8"])
        expect(response.body).to eq("UcrawlerNative::Web is locked: configure access (see README)\n")
      end
      described_class.access = :routes
      described_class.access = nil
      expect(client.get("/crawler/api/overview.json").status).to eq(403)
    end

    it "asks for HTTP basic credentials, compared in constant time, and lets the right ones in" do
      described_class.basic_auth("ops", "s3cret")
      expect(described_class.access).to eq(:basic_auth)
      routes.each do |method, path|
        response = client.public_send(method, path)
        expect([path, response.status]).to eq([path, 401])
        expect(response["WWW-Authenticate"]).to start_with('Basic realm="ucrawler dashboard"')
      end
      basic = ->(user, password) { { "HTTP_AUTHORIZATION" => "Basic #{["#{user}:#{password}"].pack("m0")}" } }
      expect(client.get("/crawler/", basic.call("ops", "wrong")).status).to eq(401)
      expect(client.get("/crawler/", basic.call("opsx", "s3cret")).status).to eq(401)
      expect(client.get("/crawler/", "HTTP_AUTHORIZATION" => "Bearer s3cret").status).to eq(401)
      expect(client.get("/crawler/", basic.call("ops", "s3cret")).status).to eq(200)
      expect(client.get("/crawler/api/overview.json", basic.call("ops", "s3cret")).status).to eq(200)
    end

    it "asks the authorize block, which receives the Rack::Request" do
      seen = []
      described_class.authorize do |request|
        seen << [request.class, request.script_name] # URLMap restores SCRIPT_NAME afterwards
        request.env["warden.user"] == "admin"
      end
      expect(client.get("/crawler/api/overview.json").status).to eq(403)
      expect(client.get("/crawler/api/overview.json", "warden.user" => "admin").status).to eq(200)
      expect(seen.uniq).to eq([[Rack::Request, "/crawler"]])
    end

    it "leaves the decision to Rails routes with access = :routes (a constraint around the mount)" do
      require "rails" # mount asks whether the app is a Railtie
      require "action_dispatch"
      routes = ActionDispatch::Routing::RouteSet.new
      routes.draw do
        constraints(->(request) { request.env["admin"] }) { mount UcrawlerNative::Web => "/crawler" }
      end
      rails = Rack::MockRequest.new(routes)
      expect(rails.get("/crawler/", "admin" => true).status).to eq(403) # still locked: no opt-in yet
      described_class.access = :routes
      expect(rails.get("/crawler/").status).to eq(404) # the constraint refuses: no route
      page = rails.get("/crawler/", "admin" => true)
      expect([page.status, page.body]).to match([200, include('href="/crawler/assets/app.css"')])
      expect(rails.get("/crawler/api/overview.json", "admin" => true).content_type).to eq("application/json")
    end

    it "refuses settings that cannot work" do
      expect { described_class.access = :open }.to raise_error(UcrawlerNative::ConfigError, /:routes or nil/)
      expect { described_class.basic_auth("ops", "") }.to raise_error(UcrawlerNative::ConfigError, /password/)
      expect { described_class.basic_auth(nil, "x") }.to raise_error(UcrawlerNative::ConfigError, /user/)
      expect { described_class.authorize }.to raise_error(ArgumentError, /block/)
      expect { described_class.redis = :local }.to raise_error(TypeError, /redis/)
      expect(described_class.access).to eq(:locked)
    end
  end

  describe "the page and its assets" do
    before { described_class.access = :routes }

    it "serves index.html with the mount path and the CSRF token filled in, never cached" do
      [client.get("/crawler/"), client.get("/crawler")].each do |response|
        expect(response.status).to eq(200)
        expect(response.content_type).to eq("text/html; charset=utf-8")
        expect(response["Cache-Control"]).to eq("no-store")
        expect(response["X-Frame-Options"]).to eq("DENY")
        expect(response["Content-Security-Policy"]).to include("script-src 'self'", "frame-ancestors 'none'")
        expect(response.body).to include('<script src="/crawler/assets/app.js" defer>',
                                         %(<meta name="csrf-token" content="#{token}">))
        expect(response.body).not_to include("{{")
      end
      expect(token).to eq(OpenSSL::HMAC.hexdigest("SHA256", described_class.secret, "ucrawler-dashboard"))
    end

    it "HTML-escapes the mount path, and uses \"\" at the root" do
      odd = Rack::MockRequest.new(Rack::URLMap.new("/a&b" => described_class))
      expect(odd.get("/a&b/").body).to include('href="/a&amp;b/assets/app.css"')
      root = Rack::MockRequest.new(described_class)
      expect(root.get("/").body).to include('<meta name="ucrawler-base" content="">', 'src="/assets/app.js"')
    end

    it "serves app.js and app.css with their types, revalidated by ETag" do
      js = client.get("/crawler/assets/app.js")
      expect([js.status, js.content_type]).to eq([200, "application/javascript; charset=utf-8"])
      expect(js.body).to include("api/overview.json")
      css = client.get("/crawler/assets/app.css")
      expect([css.status, css.content_type]).to eq([200, "text/css; charset=utf-8"])
      expect(client.get("/crawler/assets/app.js", "HTTP_IF_NONE_MATCH" => js["ETag"]).status).to eq(304)
      expect(client.get("/crawler/assets/nope.js").status).to eq(404)
    end

    it "answers 404 on unknown paths, 405 with Allow on wrong methods, and HEAD without a body" do
      expect(client.get("/crawler/nope").status).to eq(404)
      expect(json(client.get("/crawler/api/nope"))).to eq("ok" => false, "error" => "not found")
      expect(client.get("/crawler/api/crawls/x/explode").status).to eq(404)
      get_action = client.get("/crawler/api/crawls/x/pause")
      expect([get_action.status, get_action["Allow"]]).to eq([405, "POST"])
      delete = client.delete("/crawler/api/overview.json")
      expect([delete.status, delete["Allow"]]).to eq([405, "GET, HEAD"])
      head = client.request("HEAD", "/crawler/")
      expect([head.status, head.body, head["Content-Length"].to_i]).to match([200, "", be > 100])
    end
  end

  describe "GET /api/overview.json" do
    before { described_class.access = :routes }

    it "says when no Redis is configured: redis null, no shared crawl" do
      response = client.get("/crawler/api/overview.json")
      expect([response.status, response.content_type, response["Cache-Control"]]).to eq([200, "application/json", "no-store"])
      expect(json(response)).to include("redis" => nil, "shared" => [], "local" => [], "generated_at" => be_a(Float))
    end

    it "lists the shared crawls of its Redis and prefix, with their counts" do
      described_class.redis = @redis.url
      shared_crawl
      body = json(client.get("/crawler/api/overview.json"))
      expect(body["redis"]).to include("url" => @redis.url, "prefix" => "ucrawler", "reachable" => true, "error" => nil)
      crawl = body["shared"].find { |c| c["name"] == name }
      expect(crawl).to include("pending" => 2, "leased" => 0, "done" => 0, "failed" => 0, "state" => "idle",
                               "workers" => [], "history" => [], "recent_errors" => [])
      described_class.redis_prefix = "elsewhere"
      expect(json(client.get("/crawler/api/overview.json"))["shared"]).to eq([])
    end

    it "reads UcrawlerNative.defaults' redis and redis_prefix when none is set here" do
      shared_crawl
      UcrawlerNative.defaults = { redis: @redis.url, redis_prefix: "ucrawler" }
      expect(described_class.redis).to eq(@redis.url)
      expect(json(client.get("/crawler/api/overview.json"))["shared"].map { |c| c["name"] }).to include(name)
    end

    it "says when Redis cannot be reached" do
      described_class.redis = "redis://127.0.0.1:1/0"
      body = json(client.get("/crawler/api/overview.json"))
      expect(body["redis"]).to include("reachable" => false, "error" => be_a(String))
      expect(body["shared"]).to eq([])
    end

    it "lists this process's crawls with their stats" do
      crawler = UcrawlerNative::Crawler.new(timeout: 30)
      thread = Thread.new { crawler.crawl(slow_drip_url) { nil } }
      expect(eventually(limit: 10) { UcrawlerNative::RunningCrawls.labelled.any? }).to be(true)
      local = json(client.get("/crawler/api/overview.json"))["local"].find { |c| c["name"] == "crawl" }
      expect(local["stats"]).to include("pages" => 0, "end_reason" => nil, "memory" => include("limit", "used"))
    ensure
      thread&.kill&.join(5)
    end
  end

  describe "POST /api/crawls/NAME/ACTION" do
    before do
      described_class.access = :routes
      described_class.redis = @redis.url
      shared_crawl
    end

    let(:path) { "/crawler/api/crawls/#{name}" }

    it "refuses a POST without the CSRF token, with a wrong one, or from another origin" do
      expect([post("#{path}/pause", headers: {}).status, json(post("#{path}/pause", headers: {}))])
        .to eq([403, { "ok" => false, "error" => "CSRF token missing or wrong" }])
      expect(post("#{path}/pause", headers: { "HTTP_X_CSRF_TOKEN" => "0" * 64 }).status).to eq(403)
      expect(post("#{path}/pause", headers: {}, input: "csrf_token=#{"1" * 64}", "CONTENT_TYPE" => "application/x-www-form-urlencoded").status).to eq(403)
      evil = post("#{path}/pause", "HTTP_ORIGIN" => "https://evil.example")
      expect([evil.status, json(evil)["error"]]).to eq([403, "Origin https://evil.example is not this dashboard's (http://example.org)"])
      expect(post("#{path}/pause", "HTTP_ORIGIN" => "http://example.org:8080").status).to eq(403)
      expect(json(client.get("/crawler/api/overview.json"))["shared"].find { |c| c["name"] == name }["state"]).to eq("idle")
      expect(post("#{path}/pause", "HTTP_ORIGIN" => "http://example.org").status).to eq(200)
    end

    it "pauses, resumes, cancels and requeues, answering the contract's JSON" do
      expect(json(post("#{path}/pause"))).to eq("ok" => true, "crawl" => name, "state" => "paused")
      state = -> { json(client.get("/crawler/api/overview.json"))["shared"].find { |c| c["name"] == name }["state"] }
      expect(state.call).to eq("paused")
      expect(json(post("#{path}/resume"))).to eq("ok" => true, "crawl" => name, "state" => "running")
      expect(json(post("#{path}/requeue_failed"))).to match("ok" => true, "crawl" => name, "requeued" => 0)
      expect(json(post("#{path}/cancel"))).to eq("ok" => true, "crawl" => name, "state" => "cancelled")
      expect(state.call).to eq("cancelled")
    end

    it "answers a plain form post (no JS) with 303 to the page" do
      response = post("#{path}/pause", headers: {}, input: "csrf_token=#{token}", "CONTENT_TYPE" => "application/x-www-form-urlencoded")
      expect([response.status, response["Location"]]).to eq([303, "/crawler/"])
      root = Rack::MockRequest.new(described_class).post("/api/crawls/#{name}/resume", "HTTP_X_CSRF_TOKEN" => token,
                                                          input: "csrf_token=#{token}", "CONTENT_TYPE" => "application/x-www-form-urlencoded")
      expect([root.status, root["Location"]]).to eq([303, "/"])
    end

    it "answers 404 for an unknown crawl and when no Redis is configured" do
      missing = post("/crawler/api/crawls/x/pause")
      expect([missing.status, json(missing)]).to eq([404, { "ok" => false, "error" => 'no crawl named "x" under prefix "ucrawler"' }])
      described_class.redis = nil
      none = post("#{path}/pause")
      expect([none.status, json(none)]).to eq([404, { "ok" => false, "error" => "no Redis configured" }])
    end

    it "answers 503 when Redis cannot be reached" do
      described_class.redis = "redis://127.0.0.1:1/0"
      response = post("#{path}/pause")
      expect([response.status, json(response)["ok"]]).to eq([503, false])
    end
  end

  describe ".sidekiq_tab!" do
    it "adds a tab to Sidekiq's Web UI leading to the dashboard" do
      require "sidekiq/web"
      described_class.sidekiq_tab!("/crawler")
      expect(Sidekiq::Web.tabs).to include("Crawler" => "ucrawler")
      sidekiq = Rack::MockRequest.new(Rack::URLMap.new("/sidekiq" => Sidekiq::Web))
      response = sidekiq.get("/sidekiq/ucrawler", "rack.session" => {})
      expect([response.status, response["Location"]]).to eq([302, "http://example.org/crawler"])
      expect { described_class.sidekiq_tab!("crawler") }.to raise_error(UcrawlerNative::ConfigError, /mount path/)
    end
  end
end

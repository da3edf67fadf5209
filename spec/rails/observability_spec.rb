# frozen_string_literal: true

require_relative "rails_helper"
require "open3"
require "stringio"

RSpec.describe "UcrawlerNative in Rails: logging, notifications, Railtie", :rails do
  before { Site.delete_all }

  describe "logging" do
    it "logs through Rails.logger in Rails: a summary line per crawl" do
      expect(UcrawlerNative.logger).to be(Rails.logger)

      previous = Rails.logger
      log = StringIO.new
      Rails.logger = Logger.new(log, level: :info)
      Site.where(id: create_sites(3).map(&:id)).crawl { |_, _| nil }

      expect(log.string).to match(/ucrawler_native: crawled Site: 3 seeds, 3 pages, 0 page errors, 0 block errors in [\d.]+s/)
    ensure
      Rails.logger = previous
    end

    it "logs to $stderr at WARN without Rails" do
      script = <<~RUBY
        require "ucrawler_native/rails"
        logger = UcrawlerNative.logger
        print [defined?(::Rails::Railtie).inspect, logger.level, logger.instance_variable_get(:@logdev).dev == $stderr].join(" ")
        logger.info("hidden")
        logger.warn("shown")
      RUBY
      out, err, status = Open3.capture3(RbConfig.ruby, "-I", File.join(TestSite::ROOT, "lib"), "-e", script)

      expect(status).to be_success, err
      expect(out).to eq("nil #{Logger::WARN} true")
      expect(err).to include("shown")
      expect(err).not_to include("hidden")
    end
  end

  describe "ActiveSupport::Notifications" do
    it "publishes crawl.ucrawler_native (model, count of seeds, stats) and page.ucrawler_native per page" do
      sites = create_sites(4)
      missing = Site.create!(url: page_url(TestSite::PAGES + 3))
      pages = []
      crawls = events("crawl.ucrawler_native") do
        pages = events("page.ucrawler_native") do
          Site.where(id: sites.map(&:id) + [missing.id]).crawl_ids { |_, _| nil }
        end
      end

      expect(crawls.size).to eq(1)
      crawl = crawls.first.payload
      expect(crawl).to include(model: "Site", count: 5, crawler: an_instance_of(UcrawlerNative::Crawler))
      expect(crawl[:stats]).to include(pages: 5, errors: 1, seeds: 5, errors_by_kind: { http_status: 1 })
      expect(crawls.first.duration).to be > 0

      payloads = pages.map(&:payload)
      expect(payloads.map { |p| p[:url] }).to match_array((sites + [missing]).map(&:url))
      expect(payloads.map { |p| p[:record_id] }).to match_array((sites + [missing]).map(&:id))
      by_url = payloads.to_h { |p| [p[:url], p] }
      expect(by_url[missing.url]).to include(model: "Site", status: 404, error: :http_status)
      expect(by_url[sites.first.url]).to include(status: 200, error: nil, bytes: be > 0, elapsed: be > 0)
    end

    it "has status nil when there was no HTTP response: in the block, the page event and crawl_and_update alike" do
      site = Site.create!(url: site_url("/private/secret.html")) # robots.txt: disallowed
      seen = []
      published = events("page.ucrawler_native") { Site.where(id: site.id).crawl { |_, page| seen << page.status } }
      Site.where(id: site.id).crawl_and_update(http_status: :status, crawl_error: :error)

      expect(seen).to eq([nil])
      expect(published.map { |event| event.payload.values_at(:status, :error) }).to eq([[nil, :robots_disallowed]])
      expect(site.reload).to have_attributes(http_status: nil, crawl_error: "robots_disallowed")
    end

    it "reports the seed count and the exception in the event when the block raises" do
      sites = create_sites(2)
      crawls = events("crawl.ucrawler_native") do
        expect { Site.where(id: sites.map(&:id)).crawl { |_, _| raise "stop" } }.to raise_error(RuntimeError)
      end

      expect(crawls.first.payload).to include(model: "Site", count: 2, exception: ["RuntimeError", "stop"])
    end
  end

  describe "the Railtie" do
    it "makes config.ucrawler_native the default options of model crawls (then `crawls`, then the call)" do
      expect(Rails.application.config.ucrawler_native).to be_a(ActiveSupport::OrderedOptions)
      expect(UcrawlerNative.defaults).to eq(per_host: 8, retries: 0, timeout: 10)

      site = create_sites(1).first
      crawlers = events("crawl.ucrawler_native") do
        Site.where(id: site.id).crawl { |_, _| nil }
        Site.where(id: site.id).crawl(per_host: 3, timeout: "5s") { |_, _| nil }
      end.map { |event| event.payload[:crawler] }

      expect(crawlers.first.options).to eq(per_host: 8, retries: 0, timeout: 10.0, depth: 0)
      expect(crawlers.last.options).to eq(per_host: 3, retries: 0, timeout: "5s", depth: 0)
    end

    it "validates the options it is given (at boot), naming a wrong one" do
      expect { UcrawlerNative.defaults = { per_hots: 2 } }.to raise_error(ArgumentError, /per_hots/)
      expect { UcrawlerNative.defaults = { per_host: "two" } }.to raise_error(TypeError, /per_host/)
      expect(UcrawlerNative.defaults).to eq(per_host: 8, retries: 0, timeout: 10)
    end
  end
end

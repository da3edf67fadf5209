# frozen_string_literal: true

require_relative "rails_helper"
require "stringio"

RSpec.describe "UcrawlerNative error reporting", :rails do
  before { Site.delete_all }

  # Small error trackers following the public APIs the gem calls.
  let(:honeybadger) do
    Module.new do
      def self.calls = (@calls ||= [])

      def self.notify(error, context: {})
        calls << [error, context]
      end
    end
  end
  let(:sentry) do
    Module.new do
      def self.calls = (@calls ||= [])

      def self.capture_exception(error, extra: {})
        calls << [error, extra]
      end
    end
  end
  # Rails 7's ActiveSupport::ErrorReporter API; Rails 6.1 has no Rails.error (the gem checks).
  let(:rails_error) do
    Class.new do
      def calls = (@calls ||= [])

      def report(error, handled:, context: {})
        calls << [error, handled, context]
      end
    end.new
  end

  def with_rails_error(reporter)
    expect(Rails.respond_to?(:error)).to be(false) # Rails 6.1
    Rails.define_singleton_method(:error) { reporter }
    yield
  ensure
    Rails.singleton_class.send(:remove_method, :error) if Rails.singleton_class.method_defined?(:error)
  end

  def collect_reports
    list = []
    hook = UcrawlerNative.on_error { |error, context| list << [error, context] }
    yield list
    list
  ensure
    UcrawlerNative.remove_error_hook(hook)
  end

  it "reports an exception raised in a crawl block with the record's context, then stops the crawl with it" do
    sites = create_sites(30)
    yielded = 0
    reports = collect_reports do
      expect do
        Site.where(id: sites.map(&:id)).crawl(batch_size: 5) do |site, _page|
          yielded += 1
          raise KeyError, "bad site #{site.id}" if yielded == 3
        end
      end.to raise_error(KeyError, /bad site/)
    end

    expect(yielded).to eq(3)
    expect(reports.size).to eq(1)
    error, context = reports.first
    expect(error).to be_a(KeyError)
    expect(context).to include(model: "Site", handled: false)
    expect(context[:record_id]).to be_an(Integer)
    expect(context[:url]).to eq(Site.find(context[:record_id]).url)
    expect(context).to be_frozen
  end

  it "on_error: :skip reports each exception as handled and goes on" do
    sites = create_sites(12)
    yielded = []
    reports = collect_reports do
      stats = Site.where(id: sites.map(&:id)).crawl(on_error: :skip) do |site, _page|
        yielded << site.id
        raise "odd #{site.id}" if site.id.odd?
      end
      expect(stats).to include(pages: 12, block_errors: sites.count { |s| s.id.odd? })
    end

    expect(yielded).to match_array(sites.map(&:id))
    expect(reports.map { |_, context| context[:record_id] }).to match_array(sites.map(&:id).select(&:odd?))
    expect(reports.map { |_, context| context[:handled] }.uniq).to eq([true])
  end

  it "does not report page failures: they are pages with an error" do
    site = Site.create!(url: page_url(TestSite::PAGES + 7))
    pages = []
    reports = collect_reports { Site.where(id: site.id).crawl { |_, page| pages << page } }

    expect(reports).to be_empty
    expect(pages.map { |page| [page.status, page.error&.kind] }).to eq([[404, :http_status]])
  end

  it "sends each exception once to Honeybadger, Sentry and Rails.error when they are loaded" do
    stub_const("Honeybadger", honeybadger)
    stub_const("Sentry", sentry)
    site = create_sites(1).first
    error = nil
    with_rails_error(rails_error) do
      expect do
        Site.where(id: site.id).crawl { |_, _| raise IOError, "disk full" }
      end.to raise_error(IOError) { |raised| error = raised }
      # Reporting the same exception again (an outer layer) is a no-op.
      expect(UcrawlerNative.report_error(error, { job: "outer" })).to be(false)
    end

    context = { model: "Site", record_id: site.id, url: site.url, handled: false }
    expect(honeybadger.calls).to eq([[error, context]])
    expect(sentry.calls).to eq([[error, context]])
    expect(rails_error.calls).to eq([[error, false, context]])
  end

  it "reports to the chosen trackers only (error_trackers)" do
    stub_const("Honeybadger", honeybadger)
    stub_const("Sentry", sentry)
    with_rails_error(rails_error) do
      UcrawlerNative.error_trackers = [:rails]
      UcrawlerNative.report_error(RuntimeError.new("x"), { model: "Site" })
    ensure
      UcrawlerNative.error_trackers = UcrawlerNative::ERROR_TRACKERS
    end

    expect(honeybadger.calls).to be_empty
    expect(sentry.calls).to be_empty
    expect(rails_error.calls.map { |e, handled, context| [e.message, handled, context] })
      .to eq([["x", true, { model: "Site", handled: true }]])
    expect { UcrawlerNative.error_trackers = [:bugsnag] }.to raise_error(ArgumentError, /bugsnag/)
  end

  it "logs a hook that raises, and still calls the other hooks and trackers" do
    stub_const("Sentry", sentry)
    log = StringIO.new
    UcrawlerNative.logger = Logger.new(log)
    broken = UcrawlerNative.on_error { |_, _| raise "hook bug" }
    reports = collect_reports { UcrawlerNative.report_error(RuntimeError.new("original"), {}) }

    expect(reports.map { |error, _| error.message }).to eq(["original"])
    expect(sentry.calls.size).to eq(1)
    expect(log.string).to include("RuntimeError: original").and include("raised RuntimeError: hook bug")
  ensure
    UcrawlerNative.remove_error_hook(broken)
    UcrawlerNative.logger = nil # back to the default: Rails.logger
  end

  it "rejects a hook that cannot be called" do
    expect { UcrawlerNative.on_error(42) }.to raise_error(ArgumentError, /call/)
  end
end

# frozen_string_literal: true

require "active_support/notifications"
require_relative "../log_subscriber"

module UcrawlerNative
  class ModelCrawl
    # What a model crawl tells the application: the `crawl.ucrawler_native` event around the
    # crawl (payload: model, count of seeds, stats, crawler), a `page.ucrawler_native` event per
    # page when something listens, and a summary line in UcrawlerNative.logger (with the
    # changes found when pages were revisits): written by LogSubscriber from the event when it
    # is attached (Rails), else here.
    class Instrumentation
      CRAWL = "crawl.ucrawler_native"
      PAGE = "page.ucrawler_native"

      def initialize(model_name, crawler)
        @model_name = model_name
        @crawler = crawler
      end

      # Runs the block and logs the summary line of the stats it returns, with the time it took
      # (unless LogSubscriber is attached: it logs the crawl event's line instead).
      def logged
        return yield if LogSubscriber.attached?

        started = ModelCrawl.monotonic
        stats = yield
        log(stats, ModelCrawl.monotonic - started)
        stats
      end

      # Emits crawl.ucrawler_native around the block, whose result is the event's stats;
      # `seeds` (a callable) gives its count, read when the block ends (or raises).
      def crawl(seeds:)
        payload = { model: @model_name, count: 0, stats: nil, crawler: @crawler }
        ActiveSupport::Notifications.instrument(CRAWL, payload) do
          payload[:stats] = yield
        ensure
          payload[:count] = seeds.call
        end
        payload[:stats]
      end

      # Whether anything subscribes to page.ucrawler_native (checked once per crawl: building the
      # event for every page would cost when nobody listens). LogSubscriber alone counts only
      # when its logger is at DEBUG.
      def pages?
        LogSubscriber.publish_pages?
      end

      def page(page, id)
        ActiveSupport::Notifications.instrument(
          PAGE,
          model: @model_name, record_id: id, url: page.url, status: page.status,
          error: page.error&.kind, bytes: page.bytes, elapsed: page.elapsed, change: page.change
        )
      end

      private

      def log(stats, seconds)
        UcrawlerNative.logger.info { LogLines.crawl(model: @model_name, stats: stats, seconds: seconds) }
      end
    end
  end
end

# frozen_string_literal: true

require "active_support/notifications"

module UcrawlerNative
  class ModelCrawl
    # What a model crawl tells the application: the `crawl.ucrawler_native` event around the
    # crawl (payload: model, count of seeds, stats, crawler), a `page.ucrawler_native` event per
    # page when something listens, and a summary line in UcrawlerNative.logger (with the
    # changes found when pages were revisits).
    class Instrumentation
      CRAWL = "crawl.ucrawler_native"
      PAGE = "page.ucrawler_native"

      def initialize(model_name, crawler)
        @model_name = model_name
        @crawler = crawler
      end

      # Runs the block and logs the summary line of the stats it returns, with the time it took.
      def logged
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
      # event for every page would cost when nobody listens).
      def pages?
        ActiveSupport::Notifications.notifier.listening?(PAGE)
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
        UcrawlerNative.logger.info do
          format("ucrawler_native: crawled %<model>s: %<seeds>d seeds, %<pages>d pages, %<errors>d page errors, " \
                 "%<failures>d block errors in %<secs>.2fs%<changes>s",
                 model: @model_name, seeds: stats[:seeds], pages: stats[:pages].to_i, errors: stats[:errors].to_i,
                 failures: stats[:block_errors], secs: seconds, changes: changes(stats[:changes]))
        end
      end

      # "; 3 new, 2 changed, 95 unchanged (95 not modified), 0 gone" when pages were revisits.
      def changes(counts)
        return "" unless counts && counts.values_at(:changed, :unchanged, :gone).sum.positive?

        format("; %<new>d new, %<changed>d changed, %<unchanged>d unchanged (%<not_modified>d not modified), %<gone>d gone",
               counts)
      end
    end
  end
end

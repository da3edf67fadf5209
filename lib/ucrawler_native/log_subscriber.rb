# frozen_string_literal: true

require "active_support/log_subscriber"
require "active_support/notifications"
require_relative "log_lines"

module UcrawlerNative
  # Log lines from the gem's ActiveSupport::Notifications events, in UcrawlerNative.logger
  # (Rails.logger unless you set another). The Railtie attaches it to the `ucrawler_native`
  # namespace; elsewhere `UcrawlerNative::LogSubscriber.attach_to(:ucrawler_native)`.
  #
  # - crawl.ucrawler_native (a model crawl): one INFO line, its seeds, pages, page errors,
  #   block errors and duration (or the exception that stopped it);
  # - perform.ucrawler_native (a CrawlJob or SidekiqWorker job): one INFO line, the job, its
  #   model, ids, mode and the crawl's counts (or the exception that failed it);
  # - page.ucrawler_native: one DEBUG line per page, only when the logger is at DEBUG as the
  #   crawl starts (pages are not even instrumented for this subscriber otherwise).
  #
  # While it is attached, ModelCrawl::Instrumentation does not write its own crawl line.
  class LogSubscriber < ActiveSupport::LogSubscriber
    PAGE = "page.ucrawler_native"

    class << self
      def attached?
        subscribers.any? { |subscriber| subscriber.instance_of?(self) }
      end

      # Whether a crawl starting now should publish page.ucrawler_native: someone listens,
      # and that is not only this subscriber with its logger above DEBUG.
      def publish_pages?(notifier: ActiveSupport::Notifications.notifier)
        return false unless notifier.listening?(PAGE)
        return true if !attached? || debug? || !notifier.respond_to?(:listeners_for)

        notifier.listeners_for(PAGE).size > 1
      end

      def debug?
        logger = UcrawlerNative.logger
        logger.respond_to?(:debug?) && logger.debug?
      end
    end

    def crawl(event)
      payload = event.payload
      info do
        error = payload[:exception_object] || payload[:exception]
        next LogLines.crawl(model: payload[:model], stats: payload[:stats] || {}, seconds: seconds(event)) unless error

        LogLines.crawl_failed(model: payload[:model], seeds: payload[:count], seconds: seconds(event),
                              error: LogLines.error(error))
      end
    end

    def perform(event)
      payload = event.payload
      error = payload[:exception_object] || payload[:exception]
      info { LogLines.job(payload: payload, seconds: seconds(event), error: error && LogLines.error(error)) }
    end

    def page(event)
      debug { LogLines.page(payload: event.payload) }
    end

    # Page events bypass the event stack: in a crawl's thread each would otherwise be kept as a
    # child of the crawl's event until the crawl ends (memory growing with the pages).
    def start(name, id, payload)
      super unless name == PAGE
    end

    def finish(name, id, payload)
      return super unless name == PAGE

      page(ActiveSupport::Notifications::Event.new(name, nil, nil, id, payload)) if self.class.debug?
    rescue StandardError => e
      logger.error { "ucrawler_native: could not log #{name}: #{e.class}: #{e.message}" }
    end

    def logger
      UcrawlerNative.logger
    end

    private

    def seconds(event)
      event.duration / 1000.0
    end
  end
end

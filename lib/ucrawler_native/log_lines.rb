# frozen_string_literal: true

module UcrawlerNative
  # The text of the log lines the Rails glue writes: a summary per model crawl and per job (at
  # INFO), one line per page (at DEBUG). LogSubscriber writes them from the events in Rails;
  # outside Rails, ModelCrawl::Instrumentation writes the crawl line itself.
  module LogLines
    module_function

    # "ucrawler_native: crawled Site: 3 seeds, 3 pages, 0 page errors, 0 block errors in 0.41s",
    # plus the changes found when pages were revisits.
    def crawl(model:, stats:, seconds:)
      "ucrawler_native: crawled #{model}: #{counts(stats)} in #{secs(seconds)}#{changes(stats[:changes])}"
    end

    # "ucrawler_native: crawl of Site failed in 0.05s (2 seeds fed): RuntimeError: stop"
    def crawl_failed(model:, seeds:, seconds:, error:)
      "ucrawler_native: crawl of #{model} failed in #{secs(seconds)} (#{seeds.to_i} seeds fed): #{error}"
    end

    # "ucrawler_native: job UcrawlerNative::CrawlJob (job_id 3f2a..., queue default) Site: 10 ids,
    # update: 10 seeds, 10 pages, 0 page errors, 0 block errors, 10 rows written in 0.52s", or
    # "... Site: 10 ids failed in 0.01s: TypeError: ..." (`payload`: perform.ucrawler_native's).
    def job(payload:, seconds:, error: nil)
      head = "ucrawler_native: job #{payload[:job]}#{job_ids(payload)} #{payload[:model]}: #{payload[:ids].to_i} ids"
      return "#{head} failed in #{secs(seconds)}: #{error}" if error

      stats = payload[:stats] || {}
      written = payload[:with] == "update" ? ", #{stats[:rows_written].to_i} rows written" : ""
      "#{head}, #{payload[:with]}: #{counts(stats)}#{written} in #{secs(seconds)}#{changes(stats[:changes])}"
    end

    # "ucrawler_native: page Site #42: 200 https://example.com/ (5123 bytes, 0.012s, unchanged)"
    # (`payload`: page.ucrawler_native's).
    def page(payload:)
      details = ["#{payload[:bytes].to_i} bytes", payload[:elapsed] && format("%.3fs", payload[:elapsed]),
                 payload[:error], payload[:change]].compact.join(", ")
      "ucrawler_native: page #{payload[:model]} ##{payload[:record_id]}: #{payload[:status] || "-"} " \
        "#{payload[:url]} (#{details})"
    end

    # "RuntimeError: stop" from an exception or ActiveSupport's [class name, message] pair.
    def error(exception)
      exception.is_a?(Exception) ? "#{exception.class}: #{exception.message}" : Array(exception).join(": ")
    end

    def counts(stats)
      format("%<seeds>d seeds, %<pages>d pages, %<errors>d page errors, %<failures>d block errors",
             seeds: stats[:seeds].to_i, pages: stats[:pages].to_i, errors: stats[:errors].to_i,
             failures: stats[:block_errors].to_i)
    end

    # "; 3 new, 2 changed, 95 unchanged (95 not modified), 0 gone" when pages were revisits.
    def changes(counts)
      return "" unless counts && counts.values_at(:changed, :unchanged, :gone).sum.positive?

      format("; %<new>d new, %<changed>d changed, %<unchanged>d unchanged (%<not_modified>d not modified), %<gone>d gone",
             counts)
    end

    def secs(seconds)
      format("%.2fs", seconds)
    end

    # " (job_id 3f2a..., queue default)" from what the job put in the payload.
    def job_ids(payload)
      ids = { job_id: payload[:job_id], jid: payload[:jid], queue: payload[:queue] }.compact
      ids.empty? ? "" : " (#{ids.map { |key, value| "#{key} #{value}" }.join(", ")})"
    end
  end
end

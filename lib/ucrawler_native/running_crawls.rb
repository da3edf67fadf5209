# frozen_string_literal: true

module UcrawlerNative
  # The crawls running in this process (any thread), for `UcrawlerNative.metrics`.
  module RunningCrawls
    @lock = Mutex.new
    @crawls = {}

    class << self
      def add(crawl, label)
        @lock.synchronize { @crawls[crawl] = label }
      end

      def remove(crawl)
        @lock.synchronize { @crawls.delete(crawl) }
      end

      # [label, native crawl] pairs, labels made unique ("crawl", "crawl-2", ...).
      def labelled
        pairs = @lock.synchronize { @crawls.to_a }
        seen = Hash.new(0)
        pairs.map do |crawl, label|
          seen[label] += 1
          [seen[label] == 1 ? label : "#{label}-#{seen[label]}", crawl]
        end
      end
    end
  end

  # Prometheus text exposition (0.0.4) of the crawls running in this process, labelled by their
  # crawl `name:` (else "crawl"): the series `ucrawler crawl --metrics` serves. For a Rails route:
  #   get "/metrics", to: ->(_env) { [200, { "Content-Type" => "text/plain; version=0.0.4" }, [UcrawlerNative.metrics]] }
  def self.metrics
    Native.metrics_text(RunningCrawls.labelled)
  end
end

# frozen_string_literal: true

module UcrawlerNative
  # One Crawler per distinct options per process, shared by every thread (Sidekiq and Puma run
  # many jobs and requests on threads). Crawls on one crawler share its global `concurrency`,
  # connection pool, engine threads, robots.txt cache and memory budget.
  module Registry
    # Distinct option sets kept; beyond, the least recently used is dropped (its crawls finish,
    # then it is garbage) and a warning says that jobs with so many option sets do not share.
    MAX = 8

    @lock = Mutex.new
    @crawlers = {}
    @pid = Process.pid

    class << self
      # The process's crawler for these options (validated: unknown names raise ArgumentError).
      def crawler(**options)
        key = key(options)
        @lock.synchronize do
          forget_parent_process
          crawler = @crawlers.delete(key) || Crawler.new(**options)
          @crawlers[key] = crawler
          evict
          crawler
        end
      end

      # The crawlers held now (a frozen snapshot).
      def crawlers
        @lock.synchronize do
          forget_parent_process
          @crawlers.values.freeze
        end
      end

      def clear
        @lock.synchronize { @crawlers = {} }
      end

      # Options that configure the same engine give the same key, whatever their order, key
      # types or spelling of values (`per_host: 2` and `"per_host" => 2`).
      def key(options)
        JSON.generate(canonical(Options.normalize(options)))
      end

      private

      def canonical(value)
        case value
        when Hash then value.map { |k, v| [k.to_s, canonical(v)] }.sort_by(&:first)
        when Array then value.map { |v| canonical(v) }
        else value
        end
      end

      # After fork (Puma, Sidekiq swarm, Unicorn) each process builds its own crawlers.
      def forget_parent_process
        return if @pid == Process.pid

        @pid = Process.pid
        @crawlers = {}
      end

      def evict
        return if @crawlers.size <= MAX

        @crawlers.shift
        UcrawlerNative.logger.warn do
          "ucrawler_native: more than #{MAX} distinct crawler option sets in one process; " \
            "the least recently used crawler was dropped (crawls with different options do not share an engine)"
        end
      end
    end
  end

  class << self
    # The process-wide crawler for `options` (see Registry).
    def shared_crawler(**options)
      Registry.crawler(**options)
    end
  end
end

# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # Collects items (pages, rows to write) and hands them on in batches: when `size` have
    # arrived, or when the oldest has waited `interval` seconds (checked as each item arrives), so
    # that a slow, polite crawl still hands records to the block and writes rows as it goes.
    #
    #   batches = BatchBuffer.new(size: 1000, interval: 2.0) { |items| ... }
    #   crawl { |item| batches << item }
    #   batches.flush # the rest
    class BatchBuffer
      def initialize(size:, interval:, &flush)
        @size = size
        @interval = interval
        @flush = flush
        @items = []
        @started = nil
      end

      def <<(item)
        @items << item
        @started ||= ModelCrawl.monotonic
        flush if @items.size >= @size || ModelCrawl.monotonic - @started >= @interval
        self
      end

      # Hands on what is buffered, if anything.
      def flush
        items = @items
        @items = []
        @started = nil
        @flush.call(items) unless items.empty?
      end
    end
  end
end

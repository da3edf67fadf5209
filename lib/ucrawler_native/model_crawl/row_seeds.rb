# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # The seeds of a model crawl, read lazily `size` rows at a time (KeysetPager): `[url, id]`,
    # or with a `recrawl` declaration `[url, id, last_visit]`, the validators plucked with the
    # URL (a row never visited has none: its seed is no revisit). Rows whose URL is nil or
    # empty are not seeds: counted and handed to `on_no_url` (crawl_and_update writes them).
    class RowSeeds
      attr_reader :count, :no_url
      attr_writer :on_no_url

      def initialize(relation, column:, size:, recrawl: nil)
        @recrawl = recrawl
        also = recrawl ? recrawl.validator_columns : []
        @pager = KeysetPager.new(relation, column: column, size: size, also: also)
        @count = @no_url = 0
        @on_no_url = nil
      end

      # Yields each seed (Crawler#crawl pulls them with `each`, as the engine takes them).
      def each
        @pager.each_batch do |rows|
          rows.each do |id, url, *validators|
            next skip(id) unless url.is_a?(String) && !url.empty?

            @count += 1
            yield(@recrawl ? [url, id, @recrawl.last_visit(validators)] : [url, id])
          end
        end
      end

      private

      def skip(id)
        @no_url += 1
        @on_no_url&.call(id)
      end
    end
  end
end

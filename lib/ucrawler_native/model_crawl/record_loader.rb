# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # Loads the records of a batch of pages back, one `WHERE id IN (...)` per batch (the id is
    # the page's `meta`), with the relation's `preload`/`includes`. Records deleted since their
    # URL was read are skipped, logged at debug level and counted (`missing`).
    class RecordLoader
      attr_reader :missing

      def initialize(relation)
        @relation = relation
        @model = relation.klass
        @missing = 0
      end

      # Yields `(record, page)` for each page whose record still exists.
      def each(pages)
        records = load(pages.map(&:meta).uniq)
        pages.each do |page|
          record = records[page.meta]
          if record.nil?
            @missing += 1
            UcrawlerNative.logger.debug { "ucrawler_native: #{@model.name} #{page.meta.inspect} is gone; page #{page.url} skipped" }
            next
          end
          yield record, page
        end
      end

      private

      def load(ids)
        scope = @model.unscoped.where(@model.primary_key => ids)
        preload = @relation.preload_values + @relation.includes_values
        scope = scope.preload(*preload) if preload.any?
        scope.index_by(&:id)
      end
    end
  end
end

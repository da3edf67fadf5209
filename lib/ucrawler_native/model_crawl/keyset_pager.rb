# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # Pages through a relation's `[id, url]` rows in primary-key order by keyset
    # (`WHERE id > last ORDER BY id LIMIT n`): no OFFSET, no relation loaded whole, the same cost
    # for the last page of a table of millions as for the first. A `limit` is honoured; an
    # `offset` is refused (when paging starts).
    class KeysetPager
      def initialize(relation, column:, size:)
        @relation = relation
        @column = column
        @size = size
      end

      # Yields Arrays of up to `size` `[id, url]` rows; never an empty one.
      def each_batch
        model = @relation.klass
        raise ArgumentError, "crawling a relation with an offset is not supported (filter on the primary key instead)" if @relation.offset_value

        pk = model.arel_table[model.primary_key]
        scope = @relation.except(:select, :order, :limit, :offset)
        scope = scope.except(:includes, :preload) if scope.references_values.empty?
        scope = scope.reorder(pk.asc)
        remaining = @relation.limit_value
        last = nil
        loop do
          take = remaining ? [@size, remaining].min : @size
          break if take <= 0

          rows = (last.nil? ? scope : scope.where(pk.gt(last))).limit(take).pluck(pk, model.arel_table[@column])
          yield rows unless rows.empty?
          break if rows.size < take

          last = rows.last[0]
          remaining -= rows.size if remaining
        end
      end
    end
  end
end

# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # Pages through a relation's `[id, url, *also]` rows by primary-key keyset
    # (`WHERE id > last ORDER BY id LIMIT n`): no OFFSET, no relation loaded whole, the same cost
    # for the last page of a table of millions as for the first.
    #
    # The rows are the relation's, whatever its shape:
    # - no order, or an order on the primary key: paged in that direction (`order(id: :desc)`
    #   starts at the highest id), a `limit` counted as rows go;
    # - an order on anything else with a `limit` (or `distinct` with a `limit`): the rows the
    #   relation selects, as a subquery (`WHERE id IN (SELECT id FROM (<the relation>) ...)`),
    #   paged by primary key;
    # - an order on anything else without a limit: every row of the relation, paged by primary
    #   key (the order decides no row, and pages arrive in the order they are fetched anyway);
    # - joins: each row once (DISTINCT), however many joined rows match it.
    # An `offset` is refused (when paging starts).
    class KeysetPager
      SUBQUERY = "ucrawler_rows"

      # `also`: more columns plucked with the URL (a recrawl's validators).
      def initialize(relation, column:, size:, also: [])
        @relation = relation
        @model = relation.klass
        @column = column
        @size = size
        @also = also.map { |name| @model.arel_table[name] }
        @pk = @model.arel_table[@model.primary_key]
      end

      # Yields Arrays of up to `size` `[id, url, *also]` rows; never an empty one.
      def each_batch(&block)
        if @relation.offset_value
          raise ArgumentError, "crawling a relation with an offset is not supported (filter on the primary key instead)"
        end

        direction = pk_order
        if direction
          page(base_scope, direction, @relation.limit_value, &block)
        elsif @relation.limit_value.nil?
          page(base_scope, :asc, nil, &block)
        else
          page(limited_scope, :asc, nil, &block)
        end
      end

      private

      def page(scope, direction, remaining)
        scope = scope.reorder(direction == :desc ? @pk.desc : @pk.asc)
        url = @model.arel_table[@column]
        last = nil
        loop do
          take = remaining ? [@size, remaining].min : @size
          break if take <= 0

          rows = after(scope, last, direction).limit(take).pluck(@pk, url, *@also)
          yield rows unless rows.empty?
          break if rows.size < take

          last = rows.last[0]
          remaining -= rows.size if remaining
        end
      end

      def after(scope, last, direction)
        return scope if last.nil?

        scope.where(direction == :desc ? @pk.lt(last) : @pk.gt(last))
      end

      # The relation's conditions, joins and scopes, without what paging sets itself.
      def base_scope
        scope = @relation.except(:select, :order, :limit, :offset)
        scope = scope.except(:includes, :preload) if scope.references_values.empty?
        scope = scope.distinct if joined?
        scope
      end

      # The rows a limited relation with its own order selects, as they are selected by its SQL.
      def limited_scope
        rows = @relation.except(:select, :preload).then { |r| r.references_values.empty? ? r.except(:includes) : r }
        ids = @model.unscoped.from(rows, SUBQUERY)
                    .select(Arel.sql("#{SUBQUERY}.#{@model.connection.quote_column_name(@model.primary_key)}"))
        @model.unscoped.where(@model.primary_key => ids)
      end

      def joined?
        @relation.joins_values.any? || @relation.left_outer_joins_values.any?
      end

      # :asc or :desc when the relation is ordered by its primary key alone (:asc when it has no
      # order), nil when it is ordered by anything else.
      def pk_order
        orders = @relation.order_values
        return :asc if orders.empty?

        directions = orders.map { |order| pk_direction(order) }.uniq
        directions.first if directions.size == 1
      end

      def pk_direction(order)
        case order
        when Arel::Nodes::Ascending, Arel::Nodes::Descending
          (order.is_a?(Arel::Nodes::Descending) ? :desc : :asc) if pk?(order.expr)
        when Arel::Attributes::Attribute then :asc if pk?(order)
        when String, Symbol then string_direction(order.to_s)
        end
      end

      def pk?(expr)
        expr.is_a?(Arel::Attributes::Attribute) && expr.name.to_s == @model.primary_key &&
          expr.relation.name.to_s == @model.table_name
      end

      # `"id"`, `"id DESC"`, `"sites.id asc"`, `'"sites"."id" DESC'`.
      def string_direction(sql)
        pk = Regexp.escape(@model.primary_key)
        table = Regexp.escape(@model.table_name)
        match = sql.strip.match(/\A(?:"?#{table}"?\.)?"?#{pk}"?(?:\s+(asc|desc))?\z/i)
        match && (match[1]&.downcase == "desc" ? :desc : :asc)
      end
    end
  end
end

# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # Writes a batch of `[id, { column => value }]` rows into the model's table with one UPDATE
    # statement per WRITE_CHUNK rows, atomic on its own:
    #   UPDATE sites SET title = CASE id WHEN 1 THEN '..' WHEN 2 THEN '..' END, ... WHERE id IN (1, 2)
    # Plain SQL every adapter runs, values cast and quoted by the adapter (on PostgreSQL each CASE
    # is cast to its column's type); a statement per row is ~10x slower. Larger batches take one
    # statement per WRITE_CHUNK rows, in one transaction - except on SQLite: with sqlite3-ruby
    # 1.x a thread waiting for the database lock holds Ruby's GVL, so a thread holding the lock
    # across statements could never commit (Sidekiq threads would fail with BusyException).
    class ColumnUpdate
      WRITE_CHUNK = 1000
      # A value that stands for the time its batch is written: one timestamp per batch.
      NOW = Object.new.freeze

      # A value the database computes from the row as it is written (the next visit from the
      # row's interval, RevisitSchedule): `build` returns SQL; it may call the callable it takes
      # for the batch's time as an SQL literal of the column's type.
      class Expression
        def initialize(&build)
          @build = build
          freeze
        end

        def sql(now)
          @build.call(now)
        end
      end

      # Rows written so far.
      attr_reader :written

      def initialize(model)
        @model = model
        @written = 0
      end

      # Each row its own values; a column a row's values lack is left as it is in that row.
      def write(rows)
        statements(rows) { |connection, chunk, now| sql(connection, chunk, now) }
      end

      # The same `values` for every row of `ids` (the unchanged rows of a batch: a checked-at
      # time, the schedule's expressions): `UPDATE ... SET col = value, ... WHERE id IN (...)`.
      def write_same(ids, values)
        statements(ids) do |connection, chunk, now|
          assignments = values.map do |column, value|
            "#{connection.quote_column_name(column)} = #{literals(connection, column, now)[value]}"
          end
          "UPDATE #{connection.quote_table_name(@model.table_name)} SET #{assignments.join(", ")} " \
            "WHERE #{connection.quote_column_name(@model.primary_key)} IN (#{chunk.map { |id| connection.quote(id) }.join(", ")})"
        end
      end

      private

      def statements(items)
        return if items.empty?

        connection = @model.connection
        now = Time.current
        name = "#{@model.name} crawl_and_update"
        chunks = items.each_slice(WRITE_CHUNK)
        if items.size <= WRITE_CHUNK || sqlite?(connection)
          chunks.each { |chunk| connection.update(yield(connection, chunk, now), name) }
        else
          @model.transaction { chunks.each { |chunk| connection.update(yield(connection, chunk, now), name) } }
        end
        @written += items.size
      end

      def sql(connection, rows, now)
        pk = connection.quote_column_name(@model.primary_key)
        ids = rows.map { |id, _| connection.quote(id) }
        pairs = rows.map(&:last).zip(ids)
        assignments = rows.flat_map { |_, values| values.keys }.uniq.map do |column|
          expression = column_sql(connection, column, pk, pairs, literals(connection, column, now))
          expression = "CAST(#{expression} AS #{@model.columns_hash[column].sql_type})" if postgres?(connection)
          "#{connection.quote_column_name(column)} = #{expression}"
        end
        "UPDATE #{connection.quote_table_name(@model.table_name)} SET #{assignments.join(", ")} WHERE #{pk} IN (#{ids.join(", ")})"
      end

      # `CASE id WHEN 1 THEN .. END`; the rows sharing an Expression (a few per batch, long)
      # name it once: `CASE WHEN id IN (1, 2) THEN <expression> ELSE CASE id ... END END`.
      def column_sql(connection, column, pk, rows, literals)
        quoted = connection.quote_column_name(column)
        shared = Hash.new { |groups, value| groups[value] = [] }
        cases = []
        rows.each do |values, id|
          next unless values.key?(column)

          value = values[column]
          if value.is_a?(Expression)
            shared[value] << id
          else
            cases << "WHEN #{id} THEN #{literals[value]}"
          end
        end
        sql = cases.empty? ? quoted : "CASE #{pk} #{cases.join(" ")} ELSE #{quoted} END"
        return sql if shared.empty?

        "CASE #{shared.map { |value, group| "WHEN #{pk} IN (#{group.join(", ")}) THEN #{literals[value]}" }.join(" ")} ELSE #{sql} END"
      end

      # Value => SQL for `column`. Values repeat (statuses, :now, titles of a site's pages): each
      # is quoted once.
      def literals(connection, column, now)
        type = @model.type_for_attribute(column)
        Hash.new do |cache, value|
          cache[value] = if value.is_a?(Expression)
                           value.sql(-> { cache[NOW] })
                         else
                           connection.quote(type.serialize(type.cast(value.equal?(NOW) ? now : value)))
                         end
        end
      end

      def postgres?(connection)
        connection.adapter_name.match?(/postg/i)
      end

      def sqlite?(connection)
        connection.adapter_name.match?(/sqlite/i)
      end
    end
  end
end

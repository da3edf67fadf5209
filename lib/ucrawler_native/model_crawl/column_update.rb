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

      # Rows written so far.
      attr_reader :written

      def initialize(model)
        @model = model
        @written = 0
      end

      def write(rows)
        return if rows.empty?

        connection = @model.connection
        now = Time.current
        name = "#{@model.name} crawl_and_update"
        chunks = rows.each_slice(WRITE_CHUNK)
        if rows.size <= WRITE_CHUNK || sqlite?(connection)
          chunks.each { |chunk| connection.update(sql(connection, chunk, now), name) }
        else
          @model.transaction { chunks.each { |chunk| connection.update(sql(connection, chunk, now), name) } }
        end
        @written += rows.size
      end

      private

      def sql(connection, rows, now)
        pk = connection.quote_column_name(@model.primary_key)
        ids = rows.map { |id, _| connection.quote(id) }
        assignments = rows.flat_map { |_, values| values.keys }.uniq.map do |column|
          type = @model.type_for_attribute(column)
          quoted = connection.quote_column_name(column)
          # Values repeat (statuses, :now, titles of a site's pages): quote each once.
          literals = Hash.new do |cache, value|
            cache[value] = connection.quote(type.serialize(type.cast(value.equal?(NOW) ? now : value)))
          end
          cases = rows.each_with_index.map { |(_, values), i| "WHEN #{ids[i]} THEN #{literals[values[column]]}" }
          expression = "CASE #{pk} #{cases.join(" ")} ELSE #{quoted} END"
          expression = "CAST(#{expression} AS #{@model.columns_hash[column].sql_type})" if postgres?(connection)
          "#{quoted} = #{expression}"
        end
        "UPDATE #{connection.quote_table_name(@model.table_name)} SET #{assignments.join(", ")} WHERE #{pk} IN (#{ids.join(", ")})"
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

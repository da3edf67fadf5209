# frozen_string_literal: true

require "active_support/notifications"

module UcrawlerNative
  # One crawl of an ActiveRecord relation (behind UcrawlerNative::Model's `crawl`, `crawl_ids`,
  # `crawl_and_update`). Memory stays flat whatever the table's size:
  # - seeds are `[url, id]` pairs plucked `batch_size` rows at a time by primary-key keyset
  #   (`WHERE id > last ORDER BY id LIMIT n`) and fed lazily to Crawler#crawl;
  # - the id travels through the engine as the page's `meta`, so nothing is kept per row;
  # - records are loaded back `batch_size` pages at a time, one `WHERE id IN (...)` per batch;
  # - updates are written `batch_size` rows at a time, one UPDATE statement per batch.
  class ModelCrawl
    DEFAULT_BATCH_SIZE = 1000
    # Pages (or rows to write) wait at most this long (seconds) for their batch to fill: a slow,
    # polite crawl still hands records to the block and writes rows as it goes.
    FLUSH_INTERVAL = 2.0
    ON_ERROR = %i[raise skip].freeze
    # Options of this layer; the others are the engine's (see Options / README).
    OWN_OPTIONS = %i[batch_size on_error crawler touch].freeze

    # Page fields a column can be mapped to in `crawl_and_update` (plus :now, "extract.NAME" and
    # any callable taking the page).
    PAGE_VALUES = {
      url: :url.to_proc, final_url: :final_url.to_proc, content_type: :content_type.to_proc,
      title: :title.to_proc, description: :description.to_proc, canonical: :canonical.to_proc,
      depth: :depth.to_proc, bytes: :bytes.to_proc, elapsed: :elapsed.to_proc, attempts: :attempts.to_proc,
      links: :links.to_proc, extracted: :extracted.to_proc, truncated: :truncated?.to_proc, ok: :ok?.to_proc,
      # No HTTP response (connect error, robots.txt, refused address...): nil, not 0.
      status: ->(page) { page.status.zero? ? nil : page.status },
      error: ->(page) { page.error&.kind&.to_s },
      error_message: ->(page) { page.error&.message }
    }.freeze
    NOW = Object.new.freeze

    class << self
      # Splits call options into this layer's and the engine's; validates the engine's (an
      # unknown name raises ArgumentError naming it) without building a crawler.
      def split_options(options)
        options = options.to_h.transform_keys(&:to_sym)
        own = options.slice(*OWN_OPTIONS)
        engine = options.except(*OWN_OPTIONS)
        Options.normalize(engine)
        [own, engine]
      end

      # Yields Arrays of `[id, url]` rows of `relation`, `size` at a time, in primary-key order
      # (keyset pagination: no OFFSET, no relation loaded whole). A `limit` is honoured.
      def each_row_batch(relation, column, size)
        model = relation.klass
        raise ArgumentError, "crawling a relation with an offset is not supported (filter on the primary key instead)" if relation.offset_value

        pk = model.arel_table[model.primary_key]
        scope = relation.except(:select, :order, :limit, :offset)
        scope = scope.except(:includes, :preload) if scope.references_values.empty?
        scope = scope.reorder(pk.asc)
        remaining = relation.limit_value
        last = nil
        loop do
          take = remaining ? [size, remaining].min : size
          break if take <= 0

          rows = (last.nil? ? scope : scope.where(pk.gt(last))).limit(take).pluck(pk, model.arel_table[column])
          yield rows unless rows.empty?
          break if rows.size < take

          last = rows.last[0]
          remaining -= rows.size if remaining
        end
      end
    end

    attr_reader :crawler, :batch_size

    def initialize(relation, **options)
      @relation = relation
      @model = relation.klass
      @column = @model.ucrawler_url_column
      raise ConfigError, "#{@model.name} has no URL column: declare `crawls :url_column` in the model" unless @column

      call_own, call_engine = self.class.split_options(options)
      own, engine = self.class.split_options(UcrawlerNative.defaults.merge(@model.ucrawler_options))
      own = own.merge(call_own)
      @batch_size = positive_integer(:batch_size, own.fetch(:batch_size, DEFAULT_BATCH_SIZE))
      @on_error = on_error_policy(own.fetch(:on_error, :raise))
      @touch = own.fetch(:touch, true)
      @crawler = own[:crawler] || UcrawlerNative.shared_crawler(**engine.merge(call_engine))
      if own[:crawler] && call_engine.any?
        raise ArgumentError, "engine options #{call_engine.keys.inspect} cannot apply to the crawler you passed; set them on it"
      end

      @seeds = @pages = @missing = @failures = @written = 0
    end

    # Yields `(record, page)`: pages are collected `batch_size` at a time, their records loaded
    # with one query, then yielded. Pages whose record was deleted meanwhile are skipped.
    def each_record(&block)
      run do
        buffer = []
        started = nil
        stats = crawl_pages do |_id, page|
          buffer << page
          started ||= monotonic
          next if buffer.size < @batch_size && monotonic - started < FLUSH_INTERVAL

          deliver(buffer, &block)
          buffer = []
          started = nil
        end
        deliver(buffer, &block)
        stats
      end
    end

    # Yields `(id, page)` as pages arrive; loads no record.
    def each_id(&block)
      run do
        crawl_pages { |id, page| guard(id, page) { block.call(id, page) } }
      end
    end

    # Writes each record's own page (depth 0) into the mapped columns, `batch_size` rows per
    # UPDATE statement (see #write). `mapping`: `{ column => :title | :status | :now | "extract.price" | ->(page) {} }`.
    def update(mapping)
      mapping = compile(mapping)
      run do
        rows = []
        started = nil
        stats = crawl_pages(seeds_only: true) do |id, page|
          values = guard(id, page) { values_for(mapping, page) }
          next unless values

          rows << [id, values]
          started ||= monotonic
          next if rows.size < @batch_size && monotonic - started < FLUSH_INTERVAL

          write(rows)
          rows = []
          started = nil
        end
        write(rows)
        stats
      end
    end

    private

    def seeds
      Enumerator.new do |yielder|
        self.class.each_row_batch(@relation, @column, @batch_size) do |rows|
          rows.each do |id, url|
            next unless url.is_a?(String) && !url.empty?

            @seeds += 1
            yielder << [url, id]
          end
        end
      end
    end

    # Runs the engine over the seeds, yielding `(id, page)`; emits page.ucrawler_native.
    def crawl_pages(seeds_only: false)
      listening = ActiveSupport::Notifications.notifier.listening?("page.ucrawler_native")
      @crawler.crawl(seeds) do |page|
        @pages += 1
        id = page.meta
        instrument_page(page, id) if listening
        next if id.nil? || (seeds_only && page.depth != 0)

        yield id, page
      end
    end

    # The crawl.ucrawler_native event, the summary log line, and a query scope of our own: a
    # relation's class method runs inside `relation.scoping`, which would silently add the
    # relation's conditions to every query on the model the block makes.
    def run
      payload = { model: @model.name, count: 0, stats: nil, crawler: @crawler }
      started = monotonic
      stats = without_relation_scope do
        ActiveSupport::Notifications.instrument("crawl.ucrawler_native", payload) do
          payload[:stats] = summary(yield)
        ensure
          payload[:count] = @seeds
        end
      end
      log(stats, monotonic - started)
      stats
    end

    def summary(engine_stats)
      engine_stats.merge(seeds: @seeds, records_missing: @missing, block_errors: @failures, rows_written: @written)
    end

    def deliver(pages)
      return if pages.empty?

      records = load_records(pages.map(&:meta).uniq)
      pages.each do |page|
        record = records[page.meta]
        if record.nil?
          @missing += 1
          UcrawlerNative.logger.debug { "ucrawler_native: #{@model.name} #{page.meta.inspect} is gone; page #{page.url} skipped" }
          next
        end
        guard(page.meta, page) { yield record, page }
      end
    end

    def load_records(ids)
      scope = @model.unscoped.where(@model.primary_key => ids)
      preload = @relation.preload_values + @relation.includes_values
      scope = scope.preload(*preload) if preload.any?
      scope.index_by(&:id)
    end

    # Runs user code for one page. An exception is reported with the record's context; then
    # re-raised (on_error: :raise, the default: the crawl stops) or counted (on_error: :skip).
    def guard(id, page)
      yield
    rescue StandardError => e
      skip = @on_error == :skip
      UcrawlerNative.report_error(e, { model: @model.name, record_id: id, url: page.url }, handled: skip)
      raise unless skip

      @failures += 1
      nil
    end

    def compile(mapping)
      raise ArgumentError, "crawl_and_update needs a column mapping, e.g. title: :title, crawled_at: :now" if mapping.blank?

      columns = @model.column_names
      mapping.to_h.map do |column, source|
        column = column.to_s
        raise ArgumentError, "#{@model.name} has no column #{column.inspect} (columns: #{columns.join(", ")})" unless columns.include?(column)

        [column, value_reader(column, source)]
      end
    end

    def value_reader(column, source)
      return source if source.respond_to?(:call)

      name = source.to_s
      # The time the row's batch is written (at most batch_size pages or FLUSH_INTERVAL after
      # the page arrived): one timestamp per batch.
      return NOW if name == "now"
      return ->(page) { page[Regexp.last_match(1)] } if name =~ /\Aextract\.(.+)\z/

      PAGE_VALUES.fetch(name.delete_suffix("?").to_sym) do
        raise ArgumentError, "column #{column.inspect}: unknown page field #{source.inspect} " \
                             "(known: #{PAGE_VALUES.keys.join(", ")}, now, \"extract.NAME\", or a callable)"
      end
    end

    # Column => value for one page; :now stays NOW until the batch is written.
    def values_for(mapping, page)
      values = mapping.to_h { |column, reader| [column, reader.equal?(NOW) ? NOW : reader.call(page)] }
      values["updated_at"] = NOW if @touch && touch_column? && !values.key?("updated_at")
      values
    end

    def touch_column?
      return @touch_column if defined?(@touch_column)

      @touch_column = @model.column_names.include?("updated_at")
    end

    # One UPDATE statement per batch of up to WRITE_CHUNK rows, atomic on its own:
    #   UPDATE sites SET title = CASE id WHEN 1 THEN '..' WHEN 2 THEN '..' END, ... WHERE id IN (1, 2)
    # Plain SQL every adapter runs, values cast and quoted by the adapter (on PostgreSQL each CASE
    # is cast to its column's type); a statement per row is ~10x slower. Larger batches take one
    # statement per WRITE_CHUNK rows, in one transaction - except on SQLite: with sqlite3-ruby
    # 1.x a thread waiting for the database lock holds Ruby's GVL, so a thread holding the lock
    # across statements could never commit (Sidekiq threads would fail with BusyException).
    WRITE_CHUNK = 1000

    def write(rows)
      return if rows.empty?

      connection = @model.connection
      now = Time.current
      name = "#{@model.name} crawl_and_update"
      chunks = rows.each_slice(WRITE_CHUNK)
      if rows.size <= WRITE_CHUNK || sqlite?(connection)
        chunks.each { |chunk| connection.update(update_sql(connection, chunk, now), name) }
      else
        @model.transaction { chunks.each { |chunk| connection.update(update_sql(connection, chunk, now), name) } }
      end
      @written += rows.size
    end

    def update_sql(connection, rows, now)
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

    def instrument_page(page, id)
      ActiveSupport::Notifications.instrument(
        "page.ucrawler_native",
        model: @model.name, record_id: id, url: page.url, status: page.status,
        error: page.error&.kind, bytes: page.bytes, elapsed: page.elapsed
      )
    end

    def without_relation_scope
      previous = @model.current_scope(true)
      @model.current_scope = nil
      yield
    ensure
      @model.current_scope = previous
    end

    def log(stats, seconds)
      UcrawlerNative.logger.info do
        format("ucrawler_native: crawled %<model>s: %<seeds>d seeds, %<pages>d pages, %<errors>d page errors, " \
               "%<failures>d block errors in %<secs>.2fs",
               model: @model.name, seeds: stats[:seeds], pages: stats[:pages].to_i, errors: stats[:errors].to_i,
               failures: stats[:block_errors], secs: seconds)
      end
    end

    def positive_integer(name, value)
      return value if value.is_a?(Integer) && value.positive?

      raise ArgumentError, "#{name} must be a positive Integer (got #{value.inspect})"
    end

    def on_error_policy(value)
      policy = value.to_s.to_sym
      return policy if ON_ERROR.include?(policy)

      raise ArgumentError, "on_error must be :raise or :skip (got #{value.inspect})"
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end

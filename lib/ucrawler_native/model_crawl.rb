# frozen_string_literal: true

%w[settings declaration no_url_page keyset_pager recrawl row_seeds batch_buffer record_loader column_mapping
   column_update revisit_schedule revisit_rows instrumentation call_options enqueue].each { |file| require_relative "model_crawl/#{file}" }

module UcrawlerNative
  # One crawl of an ActiveRecord relation (behind UcrawlerNative::Model's `crawl`, `crawl_ids`,
  # `crawl_and_update`). Memory stays flat whatever the table's size:
  # - seeds are `[url, id]` pairs (with `recrawl:`, `[url, id, last_visit]`) plucked
  #   `batch_size` rows at a time by primary-key keyset (RowSeeds, KeysetPager) and fed lazily
  #   to Crawler#crawl;
  # - the id travels through the engine as the page's `meta`, so nothing is kept per row;
  # - records are loaded back `batch_size` pages at a time, one `WHERE id IN (...)` per batch
  #   (BatchBuffer, RecordLoader);
  # - updates are written `batch_size` rows at a time, one UPDATE statement per batch
  #   (ColumnMapping, ColumnUpdate); with `recrawl:`, by change (RevisitRows): the unchanged
  #   rows of a batch share one more statement.
  # Events and the summary log line: Instrumentation.
  class ModelCrawl
    # Pages (or rows to write) wait at most this long (seconds) for their batch to fill: a slow,
    # polite crawl still hands records to the block and writes rows as it goes.
    FLUSH_INTERVAL = 2.0

    class << self
      # Seconds on a clock that only goes forward (batch ages, crawl durations).
      def monotonic
        Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end
    end

    attr_reader :crawler, :batch_size

    # `options`: engine options and this layer's (Settings::OWN_OPTIONS). `own_pages`: crawl
    # each record's own page only (depth 0; crawl_and_update).
    def initialize(relation, own_pages: false, **options)
      @relation = relation
      @model = relation.klass
      @column = Declaration.check!(@model)
      @recrawl = @model.ucrawler_recrawl
      stores_hash = @recrawl&.columns&.key?(:content_hash) || false
      settings = Settings.new(@model, options, own_pages: own_pages, stores_hash: stores_hash)
      @batch_size = settings.batch_size
      @on_error = settings.on_error
      @touch = settings.touch
      @crawler = settings.crawler
      @instrumentation = Instrumentation.new(@model.name, @crawler)
      @records = RecordLoader.new(@relation)
      @updates = ColumnUpdate.new(@model)
      @seeds = RowSeeds.new(@relation, column: @column, size: @batch_size, recrawl: (@recrawl if settings.revisit))
      @failures = 0
    end

    # Yields `(record, page)`: pages are collected `batch_size` at a time, their records loaded
    # with one query, then yielded. Pages whose record was deleted meanwhile are skipped.
    def each_record(&block)
      run do
        pages = batches do |batch|
          @records.each(batch) { |record, page| run_user_code(page.meta, page) { block.call(record, page) } }
        end
        stats = crawl_pages { |_id, page| pages << page }
        pages.flush
        stats
      end
    end

    # Yields `(id, page)` as pages arrive; loads no record.
    def each_id(&block)
      run do
        crawl_pages { |id, page| run_user_code(id, page) { block.call(id, page) } }
      end
    end

    # Writes each record's own page (depth 0) into the mapped columns, `batch_size` rows per
    # UPDATE statement (see ColumnUpdate). `mapping`: `{ column => :title | :status | :now | "extract.price" | ->(page) {} }`.
    # Rows without a URL are written too, from a NoUrlPage (error kind :no_url).
    def update(mapping)
      content = ColumnMapping.new(@model, mapping, touch: @touch, extract: @crawler.options.fetch(:extract, {}).keys)
      @revisit_rows = RevisitRows.new(@model, @recrawl, mapping, content: content, touch: @touch) if @recrawl
      values = @revisit_rows || content
      run do
        rows = batches { |batch| write(batch) }
        write = lambda do |id, page|
          row = run_user_code(id, page) { values.values(page) }
          rows << [id, row] if row
        end
        @seeds.on_no_url = ->(id) { write.call(id, NoUrlPage.new(id, @column)) }
        stats = crawl_pages(seeds_only: true, &write)
        rows.flush
        stats
      end
    end

    private

    # One statement for the rows with values of their own, one for the unchanged ones.
    def write(batch)
      unchanged, rows = batch.partition { |_, values| values.equal?(RevisitRows::UNCHANGED) }
      @updates.write(rows)
      @updates.write_same(unchanged.map(&:first), @revisit_rows.same_values) if unchanged.any?
    end

    def batches(&flush)
      BatchBuffer.new(size: @batch_size, interval: FLUSH_INTERVAL, &flush)
    end

    # Runs the engine over the seeds, yielding `(id, page)`; emits page.ucrawler_native.
    def crawl_pages(seeds_only: false)
      listening = @instrumentation.pages?
      @crawler.crawl(@seeds) do |page|
        id = page.meta
        @instrumentation.page(page, id) if listening
        next if id.nil? || (seeds_only && page.depth != 0)

        yield id, page
      end
    end

    # The summary log line, a query scope of our own (a relation's class method runs inside
    # `relation.scoping`, which would silently add the relation's conditions to every query on
    # the model the block makes), and the crawl.ucrawler_native event.
    def run
      @instrumentation.logged do
        without_relation_scope do
          @instrumentation.crawl(seeds: -> { @seeds.count }) { summary(yield) }
        end
      end
    end

    def summary(engine_stats)
      engine_stats.merge(seeds: @seeds.count, no_url: @seeds.no_url, records_missing: @records.missing,
                         block_errors: @failures, rows_written: @updates.written)
    end

    # Runs user code for one page. An exception is reported with the record's context; then
    # re-raised (on_error: :raise, the default: the crawl stops) or counted (on_error: :skip).
    def run_user_code(id, page)
      yield
    rescue StandardError => e
      skip = @on_error == :skip
      UcrawlerNative.report_error(e, { model: @model.name, record_id: id, url: page.url }, handled: skip)
      raise unless skip

      @failures += 1
      nil
    end

    def without_relation_scope
      previous = @model.current_scope(true)
      @model.current_scope = nil
      yield
    ensure
      @model.current_scope = previous
    end
  end
end

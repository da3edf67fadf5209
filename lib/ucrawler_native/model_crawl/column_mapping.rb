# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # What `crawl_and_update` writes: `{ column => :title | :status | :now | "extract.price" |
    # "og:title" | "json_ld.offers.price" | ->(page) {} }`, checked when built (an unknown column,
    # page field or extract rule, a malformed structured data path, or a source whose values the
    # column's type cannot hold, raises naming it), then turned into a row's values for each page.
    class ColumnMapping
      # What a page declares, read by name: nil from a stand-in that declares nothing (a NoUrlPage
      # was never fetched).
      DECLARED_VALUE = ->(page, name, *args) { page.public_send(name, *args) if page.respond_to?(name) }
      # Page fields a column can be mapped to (plus :now, "extract.NAME", structured data paths
      # and any callable taking the page), with the kind of value each gives.
      PAGE_VALUES = {
        url: :url.to_proc, final_url: :final_url.to_proc, content_type: :content_type.to_proc,
        title: :title.to_proc, description: :description.to_proc, canonical: :canonical.to_proc,
        depth: :depth.to_proc, bytes: :bytes.to_proc, elapsed: :elapsed.to_proc, attempts: :attempts.to_proc,
        links: :links.to_proc, extracted: :extracted.to_proc, truncated: :truncated?.to_proc, ok: :ok?.to_proc,
        # All of what the page declares (for a json column); one value: a structured path.
        json_ld: ->(page) { DECLARED_VALUE.call(page, :json_ld) }, open_graph: ->(page) { DECLARED_VALUE.call(page, :open_graph) },
        # With canonical_dedup: the canonical URL this page duplicates.
        duplicate_of: ->(page) { DECLARED_VALUE.call(page, :duplicate_of) },
        # nil when there was no HTTP response (connect error, robots.txt, refused address...).
        status: :status.to_proc,
        error: ->(page) { page.error&.kind&.to_s },
        error_message: ->(page) { page.error&.message }
      }.freeze
      KINDS = {
        url: :string, final_url: :string, content_type: :string, title: :string, description: :string,
        canonical: :string, error: :string, error_message: :string, depth: :integer, bytes: :integer,
        attempts: :integer, status: :integer, elapsed: :float, truncated: :boolean, ok: :boolean,
        links: :list, extracted: :list, json_ld: :list, open_graph: :list, now: :time, extract: :string,
        duplicate_of: :string
      }.freeze
      NUMERIC = %i[integer bigint float decimal].freeze
      TIMES = %i[datetime timestamp timestamptz date time].freeze
      # Column types (ActiveRecord's `type_for_attribute(column).type`) a kind of value cannot go
      # into: ActiveRecord would write 0, nil or raise. Other types (text, json, custom ones)
      # take anything.
      REFUSED = {
        string: NUMERIC + %i[boolean] + TIMES,
        integer: %i[boolean] + TIMES,
        float: %i[integer bigint boolean] + TIMES,
        boolean: %i[float decimal] + TIMES,
        time: NUMERIC + %i[boolean],
        list: NUMERIC + %i[boolean] + TIMES
      }.freeze
      EXTRACT = /\Aextract\.(.+)\z/.freeze
      # "og.title" for "og:title", "json_ld:x" or "json_ld" + ".": a near miss, named in the error.
      NEAR_STRUCTURED = /\A(?:json_ld\b|[a-z]+[.:])/i.freeze

      class << self
        # Checks what needs no database: the mapping's shape and its sources (page fields).
        def check_sources(mapping)
          unless mapping.respond_to?(:to_h) && !mapping.is_a?(Array)
            raise ConfigError, "a column mapping is a Hash of column => source (got #{mapping.inspect})"
          end

          mapping.to_h.each { |column, source| kind(column.to_s, source) }
        end

        # Checks the mapping against the model's columns (database needed). `where` names the
        # mapping in messages.
        def check_columns(model, mapping, where = "crawl_and_update")
          new(model, mapping, touch: false, where: where)
        end

        # The kind of value `source` gives (nil for a callable: any), or ArgumentError naming it.
        def kind(column, source)
          return nil if source.respond_to?(:call)

          name = source.to_s
          return :time if name == "now"
          return :string if name.match?(EXTRACT)
          # As the page declares it (a String, a number, true/false, a Hash or Array): any
          # column, ActiveRecord casts (an ISO 8601 "article:published_time" into a datetime).
          return nil if Page.structured_path?(name)

          field = name.delete_suffix("?").to_sym
          return KINDS.fetch(field) if PAGE_VALUES.key?(field)

          raise ConfigError, "column #{column.inspect}: unknown page field #{source.inspect}#{structured_hint(name)} " \
                               "(known: #{PAGE_VALUES.keys.join(", ")}, now, \"extract.NAME\", " \
                               "\"json_ld.KEY.KEY\", \"og:NAME\" (also #{Page::OPEN_GRAPH_PREFIXES[1..].join(" ")}), or a callable)"
        end

        private

        def structured_hint(name)
          return "" unless name.match?(NEAR_STRUCTURED) && !PAGE_VALUES.key?(name.to_sym)

          ": structured data paths are \"json_ld.\" and keys joined by dots (\"json_ld.offers.price\"), " \
            "or a property's own name with its colon (\"og:title\")"
        end
      end

      # `touch`: also set `updated_at` (when the table has it and the mapping does not).
      # `extract`: the names of the crawler's extract rules, to check "extract.NAME" sources
      # against (nil: not checked).
      def initialize(model, mapping, touch:, extract: nil, where: "crawl_and_update")
        raise ConfigError, "#{where} needs a column mapping, e.g. title: :title, crawled_at: :now" if mapping.blank?

        self.class.check_sources(mapping)
        @model = model
        columns = model.column_names
        @readers = mapping.to_h.map do |column, source|
          column = column.to_s
          raise ConfigError, "#{model.name} has no column #{column.inspect} (#{where}; columns: #{columns.join(", ")})" unless columns.include?(column)

          check_type(column, source)
          check_extract(column, source, extract) if extract
          [column, reader(source)]
        end
        @touch = touch && columns.include?("updated_at")
      end

      # Column => value for one page; a :now column holds ColumnUpdate::NOW until its batch is
      # written.
      def values(page)
        values = @readers.to_h { |column, reader| [column, reader.equal?(ColumnUpdate::NOW) ? ColumnUpdate::NOW : reader.call(page)] }
        values["updated_at"] = ColumnUpdate::NOW if @touch && !values.key?("updated_at")
        values
      end

      private

      def reader(source)
        return source if source.respond_to?(:call)

        name = source.to_s
        # The time the row's batch is written (at most batch_size pages or FLUSH_INTERVAL after
        # the page arrived): one timestamp per batch.
        return ColumnUpdate::NOW if name == "now"

        rule = name[EXTRACT, 1]
        return ->(page) { page[rule] } if rule
        return ->(page) { DECLARED_VALUE.call(page, :structured, name) } if Page.structured_path?(name)

        PAGE_VALUES.fetch(name.delete_suffix("?").to_sym)
      end

      def check_type(column, source)
        kind = self.class.kind(column, source)
        type = @model.type_for_attribute(column).type
        return unless kind && REFUSED.fetch(kind).include?(type)

        fitting = KINDS.reject { |_, k| REFUSED.fetch(k).include?(type) }.keys
                       .map { |name| name == :extract ? '"extract.NAME"' : name.inspect }
        raise ConfigError, "column #{column.inspect} (#{type}) cannot hold #{source.inspect} (#{kind} values); " \
                             "sources that fit it: #{fitting.join(", ")}, or a callable"
      end

      def check_extract(column, source, rules)
        rule = source.to_s[EXTRACT, 1] unless source.respond_to?(:call)
        return if rule.nil? || rules.map(&:to_s).include?(rule)

        raise ConfigError, "column #{column.inspect}: no extract rule named #{rule.inspect} for #{source.inspect} " \
                             "(rules: #{rules.empty? ? "none; add extract: { #{rule}: \"css selector\" }" : rules.join(", ")})"
      end
    end
  end
end

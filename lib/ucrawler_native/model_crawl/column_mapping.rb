# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # What `crawl_and_update` writes: `{ column => :title | :status | :now | "extract.price" |
    # ->(page) {} }`, checked against the model's columns when built (an unknown column or page
    # field raises ArgumentError naming it), then turned into a row's values for each page.
    class ColumnMapping
      # Page fields a column can be mapped to (plus :now, "extract.NAME" and any callable taking
      # the page).
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

      # `touch`: also set `updated_at` (when the table has it and the mapping does not).
      def initialize(model, mapping, touch:)
        raise ArgumentError, "crawl_and_update needs a column mapping, e.g. title: :title, crawled_at: :now" if mapping.blank?

        @model = model
        columns = model.column_names
        @readers = mapping.to_h.map do |column, source|
          column = column.to_s
          raise ArgumentError, "#{model.name} has no column #{column.inspect} (columns: #{columns.join(", ")})" unless columns.include?(column)

          [column, reader(column, source)]
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

      def reader(column, source)
        return source if source.respond_to?(:call)

        name = source.to_s
        # The time the row's batch is written (at most batch_size pages or FLUSH_INTERVAL after
        # the page arrived): one timestamp per batch.
        return ColumnUpdate::NOW if name == "now"
        return ->(page) { page[Regexp.last_match(1)] } if name =~ /\Aextract\.(.+)\z/

        PAGE_VALUES.fetch(name.delete_suffix("?").to_sym) do
          raise ArgumentError, "column #{column.inspect}: unknown page field #{source.inspect} " \
                               "(known: #{PAGE_VALUES.keys.join(", ")}, now, \"extract.NAME\", or a callable)"
        end
      end
    end
  end
end

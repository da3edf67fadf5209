# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # The keywords of `crawl_and_update(title: :title, per_host: 4)`: those naming a column are
    # the mapping, the others options (a name that is both is refused: it must be passed as a
    # Hash, saying which it is).
    module CallOptions
      module_function

      # `[mapping, options]`, or ArgumentError naming an ambiguous or unknown keyword.
      def split_mapping(model, options)
        columns = model.column_names.map(&:to_sym)
        known = Options.names + Settings::OWN_OPTIONS
        ambiguous = options.keys.select { |key| columns.include?(key) && known.include?(key) }
        if ambiguous.any?
          raise ArgumentError, "#{ambiguous.inspect} name both a column and an option: pass the mapping as a Hash, " \
                               "crawl_and_update({ #{ambiguous.first}: ... }, **options)"
        end
        unknown = options.keys.reject { |key| columns.include?(key) || known.include?(key) }
        raise ArgumentError, "unknown column or option #{unknown.map(&:inspect).join(", ")} for #{model.name}" if unknown.any?

        options.partition { |key, _| columns.include?(key) }.map(&:to_h)
      end
    end
  end
end

# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # Checks a model's `crawls` declaration, so that a mistake stops the app where it is made,
    # naming it, instead of failing (or silently doing nothing) in every job:
    # - when the class loads (`crawls` runs): the options, the page fields of `update:`, the
    #   callback's name and the shape of `recrawl:`: nothing there needs the database;
    # - on the model's first crawl or enqueue, before any query or job: the URL column and the
    #   columns of `update:` and `recrawl:` (the schema needs the database, which a class body must not touch:
    #   `assets:precompile` loads models without one) and the callback method (the class body
    #   defines it after the `crawls` line).
    module Declaration
      module_function

      # At class load. Raises ArgumentError / ConfigError naming the mistake. Returns the
      # Recrawl of `recrawl:`, or nil.
      def declared(model, column:, update:, callback:, recrawl:, options:)
        unless column.is_a?(Symbol) || column.is_a?(String)
          raise ConfigError, "#{model.name}: crawls takes the URL column's name (got #{column.inspect})"
        end

        Settings.split(options)
        ColumnMapping.check_sources(update) if update
        unless callback.nil? || callback.is_a?(Symbol) || callback.is_a?(String)
          raise ConfigError, "#{model.name}: callback: must name an instance method (got #{callback.inspect})"
        end
        return if recrawl.nil? || recrawl == false

        Recrawl.new(model.name, recrawl, url_column: column).tap { |declared| declared.check_mapping(update) if update }
      end

      # Before a model's crawl or enqueue: ConfigError naming what the database or the class
      # says cannot work. Returns the URL column.
      def check!(model)
        column = model.ucrawler_url_column
        raise ConfigError, "#{model.name} has no URL column: declare `crawls :url_column` in the model" unless column

        columns = model.column_names
        unless columns.include?(column.to_s)
          raise ConfigError, "#{model.name} has no column #{column.to_s.inspect} for `crawls #{column.inspect}` " \
                             "(columns: #{columns.join(", ")})"
        end
        ColumnMapping.check_columns(model, model.ucrawler_update, "crawls ..., update:") if model.ucrawler_update
        model.ucrawler_recrawl&.check_columns(model)
        check_callback(model)
        column
      end

      def check_callback(model)
        callback = model.ucrawler_callback
        return if callback.nil? || model.public_method_defined?(callback)

        defined = model.private_method_defined?(callback) || model.protected_method_defined?(callback)
        raise ConfigError, "#{model.name}##{callback} #{defined ? "is not public" : "is not defined"} " \
                           "(`crawls ..., callback: #{callback.inspect}`: jobs call it with each page)"
      end
    end
  end
end

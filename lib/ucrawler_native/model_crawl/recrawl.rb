# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # A model's `crawls ..., recrawl: { ... }`: the columns keeping what each row's last visit
    # learned (so the next visit is a revisit: a conditional request, `page.change`), the column
    # every visit touches (`checked_at:`), and the adaptive schedule (`next_crawl_at:` and
    # `interval:` columns, RevisitSchedule). Checked at class load (shape, names, durations) and
    # before the first crawl (columns and their types: check_columns).
    class Recrawl
      VALIDATORS = %i[etag last_modified content_hash].freeze
      SCHEDULE = %i[next_crawl_at interval].freeze
      COLUMNS = (VALIDATORS + %i[checked_at] + SCHEDULE).freeze
      # Seconds. See RevisitSchedule for why these: a page is first revisited after a day, then
      # between an hour and a month apart; a row enqueued by crawl_later is not due again for
      # `lease` (a job queue's backlog does not enqueue it twice).
      DURATIONS = { start_interval: 86_400, min_interval: 3600, max_interval: 30 * 86_400, lease: 3600 }.freeze
      TIMES = %i[datetime timestamp timestamptz].freeze
      # Column types each key's values cannot go into (a validator is a String; last_modified
      # also fits a datetime column, as a Time).
      FITS = {
        etag: ->(type) { !ColumnMapping::REFUSED[:string].include?(type) },
        content_hash: ->(type) { !ColumnMapping::REFUSED[:string].include?(type) },
        last_modified: ->(type) { TIMES.include?(type) || !ColumnMapping::REFUSED[:string].include?(type) },
        checked_at: ->(type) { TIMES.include?(type) },
        next_crawl_at: ->(type) { TIMES.include?(type) },
        interval: ->(type) { ColumnMapping::NUMERIC.include?(type) }
      }.freeze

      attr_reader :columns, :durations

      # At class load: ConfigError naming what is wrong with `spec`.
      def initialize(model_name, spec, url_column:)
        @model_name = model_name
        unless spec.is_a?(Hash)
          raise ConfigError, "#{model_name}: recrawl: takes a Hash of columns, e.g. { etag: :etag, " \
                             "last_modified: :last_modified, content_hash: :content_hash } (got #{spec.inspect})"
        end

        spec = spec.transform_keys(&:to_sym)
        unknown = spec.keys - COLUMNS - DURATIONS.keys
        raise ConfigError, "#{model_name}: unknown recrawl: keys #{unknown.inspect} (known: #{(COLUMNS + DURATIONS.keys).join(", ")})" if unknown.any?

        @columns = column_names(spec.slice(*COLUMNS), url_column.to_s).freeze
        @durations = DURATIONS.merge(spec.slice(*DURATIONS.keys).to_h { |key, value| [key, seconds(key, value)] }).freeze
        check_shape(spec)
        freeze
      end

      def schedule?
        @columns.key?(:next_crawl_at)
      end

      def validator_columns
        @columns.values_at(*VALIDATORS).compact
      end

      # The seed's last visit from a row's plucked validator_columns values.
      def last_visit(values)
        VALIDATORS.select { |key| @columns.key?(key) }.zip(values).to_h
      end

      # Validator column => what `page` says the next visit needs. `time_last_modified`: the
      # last_modified column is a datetime (the header's date as a Time; nil if it is no date).
      def validator_values(page, time_last_modified: false)
        VALIDATORS.each_with_object({}) do |key, values|
          column = @columns[key] or next
          value = page.public_send(key)
          values[column] = key == :last_modified && time_last_modified ? http_time(value) : value
        end
      end

      def time_last_modified?(model)
        column = @columns[:last_modified]
        !column.nil? && TIMES.include?(model.type_for_attribute(column).type)
      end

      # Before the first crawl: ConfigError naming a column the table lacks or whose type cannot
      # hold its values.
      def check_columns(model)
        names = model.column_names
        @columns.each do |key, column|
          raise ConfigError, "#{model.name} has no column #{column.inspect} (crawls ..., recrawl: { #{key}: ... }; columns: #{names.join(", ")})" unless names.include?(column)

          type = model.type_for_attribute(column).type
          raise ConfigError, "#{model.name}: column #{column.inspect} (#{type}) cannot hold recrawl: #{key}: values" unless FITS.fetch(key).call(type)
        end
        RevisitSchedule.check_adapter(model) if schedule?
      end

      # A mapping may not write the recrawl columns (only `checked_at:` with `:now`, the same value).
      def check_mapping(mapping)
        mapping.to_h.each do |column, source|
          key = @columns.key(column.to_s)
          next if key.nil? || (key == :checked_at && source.to_s == "now")

          raise ConfigError, "#{@model_name}: column #{column.to_s.inspect} is recrawl: #{key}:, written by every visit; " \
                             "it cannot be in the update mapping too"
        end
      end

      private

      def column_names(spec, url_column)
        spec.each do |key, column|
          next if column.is_a?(Symbol) || column.is_a?(String)

          raise ConfigError, "#{@model_name}: recrawl: #{key}: takes a column name (got #{column.inspect})"
        end
        names = spec.transform_values(&:to_s)
        repeated = names.values.tally.select { |_, n| n > 1 }.keys + (names.values & [url_column])
        raise ConfigError, "#{@model_name}: recrawl: names column #{repeated.first.inspect} twice (or the URL column)" if repeated.any?

        names
      end

      def check_shape(spec)
        if (spec.keys & VALIDATORS).empty?
          raise ConfigError, "#{@model_name}: recrawl: needs a column for at least one of etag:, last_modified:, content_hash: " \
                             "(what a revisit sends back)"
        end
        unless SCHEDULE.all? { |key| spec.key?(key) } || SCHEDULE.none? { |key| spec.key?(key) }
          raise ConfigError, "#{@model_name}: recrawl: next_crawl_at: and interval: go together (the adaptive schedule)"
        end
        scheduling = (spec.keys & %i[start_interval min_interval max_interval lease])
        raise ConfigError, "#{@model_name}: recrawl: #{scheduling.first}: needs next_crawl_at: and interval:" if scheduling.any? && !schedule?

        min, start, max = @durations.values_at(:min_interval, :start_interval, :max_interval)
        return if min <= start && start <= max

        raise ConfigError, "#{@model_name}: recrawl: needs min_interval <= start_interval <= max_interval (got #{min}, #{start}, #{max})"
      end

      def seconds(key, value)
        seconds = value.is_a?(Numeric) ? value.round : nil # ActiveSupport::Duration is Numeric
        return seconds if seconds&.positive?

        raise ConfigError, "#{@model_name}: recrawl: #{key}: takes a positive number of seconds or a duration (got #{value.inspect})"
      end

      def http_time(value)
        value && Time.httpdate(value)
      rescue ArgumentError
        nil
      end
    end
  end
end

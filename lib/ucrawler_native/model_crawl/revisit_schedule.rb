# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # The adaptive revisit schedule of `recrawl: { next_crawl_at:, interval: }` (after Nutch's
    # AdaptiveFetchSchedule): each visit sets the row's interval (seconds) and its next visit
    # (now + interval) from what it found:
    # - changed: the interval halves, so a page that starts changing is caught up within a few
    #   visits;
    # - unchanged (and gone: a removed page may come back, but rarely): it grows by half, so a
    #   page that stopped changing drifts out gradually (a day to a month in 9 visits);
    # - new (a first visit): it stays (start_interval for a row that has none);
    # - a failure (a timeout, a 5xx: it says nothing about the content): the interval stays,
    #   the next visit comes after a quarter of it - sooner, not forgotten;
    # always within min_interval..max_interval. Halving and growing by half settle where about
    # a third of the visits find a change (ln 1.5 / ln 3): visits about half a change period
    # apart, without fetching a page that never changes more than once a month.
    #
    # The values are SQL computed from the row as it is written (ColumnUpdate::Expression): no
    # interval is read into Ruby, and all the unchanged rows of a batch share one statement.
    class RevisitSchedule
      ADAPTERS = /sqlite|postg/i.freeze

      def self.check_adapter(model)
        adapter = model.connection.adapter_name
        return if adapter.match?(ADAPTERS)

        raise ConfigError, "#{model.name}: the adaptive schedule (recrawl: next_crawl_at:, interval:) is computed in SQL " \
                           "for SQLite and PostgreSQL, not #{adapter}; declare the validator columns only"
      end

      def initialize(model, recrawl)
        @model = model
        @connection = model.connection
        @next = recrawl.columns.fetch(:next_crawl_at)
        @interval_column = recrawl.columns.fetch(:interval)
        @interval = @connection.quote_column_name(@interval_column)
        @start, @min, @max = recrawl.durations.values_at(:start_interval, :min_interval, :max_interval)
        @values = {}
      end

      # Column => ColumnUpdate::Expression for a visit whose page's change is `change`.
      def values(change)
        @values[change] ||= begin
          interval = new_interval(change)
          delay = interval || clamp("#{current} / 4")
          values = { @next => ColumnUpdate::Expression.new { |now| later(now.call, delay) } }
          values[@interval_column] = ColumnUpdate::Expression.new { interval } if interval
          values.freeze
        end
      end

      private

      # SQL for the new interval; nil for a failure (the interval is kept).
      def new_interval(change)
        case change
        when :new then clamp(current)
        when :changed then clamp("#{current} / 2")
        when :unchanged, :gone then clamp("#{current} * 3 / 2")
        end
      end

      def current
        "COALESCE(#{@interval}, #{@start})"
      end

      def clamp(sql)
        "(CASE WHEN #{sql} < #{@min} THEN #{@min} WHEN #{sql} > #{@max} THEN #{@max} ELSE #{sql} END)"
      end

      # `now` (an SQL literal of the next_crawl_at column's type) plus `seconds` (SQL).
      def later(now, seconds)
        if @connection.adapter_name.match?(/sqlite/i)
          # The text Rails stores datetimes as on SQLite ("2024-05-01 12:00:00.123456").
          "strftime('%Y-%m-%d %H:%M:%f', #{now}, '+' || (#{seconds}) || ' seconds')"
        else
          "(CAST(#{now} AS #{@model.columns_hash.fetch(@next).sql_type}) + (#{seconds}) * INTERVAL '1 second')"
        end
      end
    end
  end
end

# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # What crawl_and_update writes for a row of a model declaring `recrawl:`, by the page's
    # change (in place of ColumnMapping#values):
    # - :new, :changed: the whole mapping, the validators, checked_at, the schedule;
    # - :unchanged: UNCHANGED: the batch's unchanged rows share one statement, same_values
    #   (checked_at, the schedule's growth, and the mapping's :error/:error_message columns
    #   cleared, :ok set, a :status column back to 200 if a failure or a removal had changed
    #   it: the row's content is current). A 200 whose text is unchanged but whose validators
    #   are not those sent (so the server answered no 304) is written on its own with them;
    # - :gone, nil (a failure: timeout, 5xx, robots.txt; a row without URL): the mapping's
    #   visit columns only (VISIT_SOURCES: status, error, :now...), checked_at, the schedule.
    #   Content columns and validators are kept: a failure or a 404 says nothing new about the
    #   content, and the next visit is still a revisit (a page back unchanged is a 304).
    class RevisitRows
      # Sources that describe the visit rather than the page's content.
      VISIT_SOURCES = %w[status error error_message ok ok? attempts elapsed now].freeze
      UNCHANGED = Object.new.freeze

      # `content`: the ColumnMapping of `mapping` (written for new content).
      def initialize(model, recrawl, mapping, content:, touch:)
        recrawl.check_mapping(mapping)
        @recrawl = recrawl
        @content = content
        @time_last_modified = recrawl.time_last_modified?(model)
        visit = mapping.to_h.select { |_, source| VISIT_SOURCES.include?(source.to_s) }
        @visit = visit.empty? ? nil : ColumnMapping.new(model, visit, touch: touch)
        @updated_at = touch && model.column_names.include?("updated_at") && !mapping.to_h.keys.map(&:to_s).include?("updated_at")
        @schedule = RevisitSchedule.new(model, recrawl) if recrawl.schedule?
        @checked = recrawl.columns[:checked_at]
        @header_validators = recrawl.columns.slice(:etag, :last_modified).keys
        @same = unchanged_values(model.connection, mapping.to_h).freeze
      end

      # What every unchanged row of a batch gets (empty: nothing to write).
      def same_values
        @same
      end

      # Column => value for `page`'s row, UNCHANGED, or nil (nothing to write).
      def values(page)
        case page.change
        when :new, :changed then @content.values(page).merge(validators(page), visited(page.change))
        when :unchanged then unchanged(page)
        else visit_values(page).merge(visited(page.change)).presence
        end
      end

      private

      def unchanged(page)
        if page.status != 304 && @header_validators.any? { |key| page.public_send(key) }
          @same.merge(validators(page))
        elsif @same.any?
          UNCHANGED
        end
      end

      def validators(page)
        @recrawl.validator_values(page, time_last_modified: @time_last_modified)
      end

      def visit_values(page)
        return @visit.values(page) if @visit

        @updated_at ? { "updated_at" => ColumnUpdate::NOW } : {}
      end

      def visited(change)
        values = @checked ? { @checked => ColumnUpdate::NOW } : {}
        @schedule ? values.merge(@schedule.values(change)) : values
      end

      def unchanged_values(connection, mapping)
        values = visited(:unchanged)
        mapping.each do |column, source|
          column = column.to_s
          case source.to_s
          when "error", "error_message" then values[column] = nil
          when "ok", "ok?" then values[column] = true
          when "status" then values[column] = restored_status(connection.quote_column_name(column))
          end
        end
        values
      end

      def restored_status(quoted)
        ColumnUpdate::Expression.new { "CASE WHEN #{quoted} >= 200 AND #{quoted} < 300 THEN #{quoted} ELSE 200 END" }
      end
    end
  end
end

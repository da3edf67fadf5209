# frozen_string_literal: true

module UcrawlerNative
  module Generators
    # The columns `install MODEL` gives a table: the URL, what each visit writes (status, error
    # kind, time: the `update:` mapping) and the recrawl columns (validators, checked_at, and the
    # adaptive schedule where it can be computed: SQLite, PostgreSQL). Columns the table already
    # has are left out; when the database cannot be read, the table is taken to exist if the
    # model's file does, and every column is added (`note` says so).
    class CrawlColumns
      STATUS = { http_status: :integer, crawl_error: :string, crawled_at: :datetime }.freeze
      VALIDATORS = { etag: :string, last_modified: :string, content_hash: :string, checked_at: :datetime }.freeze
      SCHEDULE = { next_crawl_at: :datetime, crawl_interval: :integer }.freeze
      INDEXED = %w[next_crawl_at].freeze

      attr_reader :table, :url_column, :note

      def initialize(table:, url_column:, model_file_exists:)
        @table = table
        @url_column = url_column.to_s
        read_database
      rescue StandardError, LoadError => e # no database yet, or not reachable from here; no adapter gem
        @table_exists = model_file_exists
        @existing = []
        @schedule = schedule_adapter?(configured_adapter)
        @note = "could not read the database (#{e.class}: #{e.message.lines.first&.strip}): the migration adds " \
                "every column#{" but the table" unless @table_exists}; remove those #{@table} already has"
      end

      def table_exists?
        @table_exists
      end

      # Whether the adaptive schedule's columns are part of it.
      def schedule?
        @schedule
      end

      # [name, type] of the columns to add (all of them for a new table).
      def to_add
        wanted = { @url_column => :string }.merge((STATUS.merge(VALIDATORS).merge(schedule? ? SCHEDULE : {})).transform_keys(&:to_s))
        wanted.reject { |name, _| @existing.include?(name) }.to_a
      end

      def indexed?(name)
        INDEXED.include?(name)
      end

      private

      def read_database
        connection = ::ActiveRecord::Base.connection
        @table_exists = connection.data_source_exists?(@table)
        @existing = @table_exists ? connection.columns(@table).map(&:name) : []
        @schedule = schedule_adapter?(connection.adapter_name)
      end

      def configured_adapter
        config = ::ActiveRecord::Base.connection_db_config if ::ActiveRecord::Base.respond_to?(:connection_db_config)
        config&.adapter
      rescue StandardError, LoadError
        nil
      end

      def schedule_adapter?(adapter)
        adapter.nil? || adapter.to_s.match?(ModelCrawl::RevisitSchedule::ADAPTERS)
      end
    end
  end
end

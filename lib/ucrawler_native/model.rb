# frozen_string_literal: true

require "active_support/concern"
require "json"

module UcrawlerNative
  # Crawl the URLs of an ActiveRecord model, a relation at a time.
  #
  #   class Site < ApplicationRecord
  #     include UcrawlerNative::Model
  #     crawls :url, depth: 0, per_host: 4, update: { title: :title, http_status: :status, crawled_at: :now }
  #   end
  #
  #   Site.where(title: nil).crawl(batch_size: 500) { |site, page| site.update!(title: page.title) }
  #   Site.where(...).crawl_ids { |id, page| ... }            # ids, no record loaded
  #   Site.where(...).crawl_and_update(title: :title, crawled_at: :now)
  #   Site.where(...).crawl_later(via: :sidekiq, ids_per_job: 500)
  #
  # With `recrawl: { etag: :etag, ..., next_crawl_at: :next_crawl_at, interval: :crawl_interval }`
  # rows are revisited (conditional requests) and `Site.due_for_crawl.crawl_later` in a
  # recurring job keeps the table fresh (ModelCrawl::Recrawl, RevisitRows, RevisitSchedule).
  #
  # Memory stays flat for tables of millions of rows (see ModelCrawl).
  module Model
    extend ActiveSupport::Concern

    included do
      class_attribute :ucrawler_url_column, instance_accessor: false
      class_attribute :ucrawler_options, instance_accessor: false, default: {}.freeze
      class_attribute :ucrawler_update, instance_accessor: false
      class_attribute :ucrawler_callback, instance_accessor: false
      class_attribute :ucrawler_recrawl, instance_accessor: false
    end

    class_methods do
      # Declares the URL column and default options: engine options (`depth:`, `per_host:`, ...),
      # `batch_size:`, `on_error:`, plus for jobs `update:` (the default column mapping of
      # crawl_and_update) and `callback:` (an instance method jobs call with each page), and
      # `recrawl:` (the columns keeping each row's last visit and its schedule, see README).
      # What can be checked without the database (options, page fields) is checked here, at
      # class load; the columns and the callback method before the first crawl or enqueue
      # (ModelCrawl::Declaration).
      def crawls(column, update: nil, callback: nil, recrawl: nil, **options)
        self.ucrawler_recrawl = ModelCrawl::Declaration.declared(self, column: column, update: update, callback: callback,
                                                                       recrawl: recrawl, options: options)
        self.ucrawler_url_column = column.to_sym
        self.ucrawler_options = options.transform_keys(&:to_sym).freeze
        self.ucrawler_update = update&.to_h&.freeze
        self.ucrawler_callback = callback&.to_sym
      end

      # Rows whose next visit is due at `at` (their next_crawl_at is NULL or not after it):
      # `Site.due_for_crawl.crawl_later` in a recurring job keeps the table fresh.
      def due_for_crawl(at = Time.current)
        column = ucrawler_recrawl&.columns&.fetch(:next_crawl_at, nil)
        raise ConfigError, "#{name}.due_for_crawl needs `crawls ..., recrawl: { next_crawl_at: ..., interval: ... }`" unless column

        next_at = arel_table[column]
        where(next_at.eq(nil).or(next_at.lteq(at)))
      end

      # Crawls this relation's URLs, yielding `(record, page)`, records loaded back in batches of
      # `batch_size` (default 1000). Pages discovered from a record's URL (`depth:` > 0) come with
      # that record too. `on_error: :raise` (default) reports an exception from the block and
      # stops the crawl with it; `:skip` reports it and goes on. Returns the crawl's stats.
      def crawl(**options, &block)
        raise ArgumentError, "crawl needs a block |record, page|" unless block

        ModelCrawl.new(all, **options).each_record(&block)
      end

      # Like `crawl`, yielding `(id, page)` as pages arrive, without loading records.
      def crawl_ids(**options, &block)
        raise ArgumentError, "crawl_ids needs a block |id, page|" unless block

        ModelCrawl.new(all, **options).each_id(&block)
      end

      # Crawls and writes page fields into columns, `batch_size` rows per transaction:
      #   crawl_and_update(title: :title, http_status: :status, crawled_at: :now, depth: 0)
      # Keywords naming a column are the mapping, the others options; pass the mapping as a Hash
      # (`crawl_and_update({ depth: :depth }, per_host: 4)`) when a column is named like an
      # option. Without a mapping, the one declared with `crawls ..., update:` is used.
      # It writes each record's own page: a `depth:` other than 0 is refused (so is a block: use
      # `crawl` to handle pages yourself).
      def crawl_and_update(mapping = nil, **options, &block)
        raise ConfigError, "crawl_and_update takes no block: use crawl { |record, page| ... } to handle pages" if block

        mapping, options = ucrawler_split_mapping(options) if mapping.nil?
        mapping = ucrawler_update if mapping.blank?
        ModelCrawl.new(all, own_pages: true, **options).update(mapping)
      end

      # Enqueues this relation's ids, `ids_per_job` per job, for UcrawlerNative::CrawlJob
      # (`via: :active_job`) or UcrawlerNative::SidekiqWorker (`via: :sidekiq`). `options` must
      # be JSON-safe (they travel in the job); they may include `update:` and `with:`
      # ("update" or "callback"). With a `recrawl:` schedule, the enqueued rows are not due
      # again for its `lease` (the job's visit sets their next one): a recurring
      # `due_for_crawl.crawl_later` does not enqueue them twice while the queue is behind.
      # Returns the number of jobs enqueued.
      def crawl_later(via: :active_job, ids_per_job: 500, **options)
        ModelCrawl::Enqueue.new(all, via: via, ids_per_job: ids_per_job, options: options).run
      end

      private

      def ucrawler_split_mapping(options)
        ModelCrawl::CallOptions.split_mapping(self, options)
      end
    end

    # Per record, with the same options and mapping as on a relation:
    #   site.crawl { |page| ... }     site.crawl_and_update     site.crawl_later
    # Each returns what the relation's method returns (stats, or the number of jobs).

    # Crawls this record's URL, yielding each page (the record's own, and with `depth:` > 0 the
    # pages found from it). A record with no URL yields nothing (stats[:no_url] is 1).
    def crawl(**options, &block)
      raise ArgumentError, "crawl needs a block |page|" unless block

      ucrawler_relation.crawl_ids(**options) { |_id, page| block.call(page) }
    end

    # Writes this record's page into its columns (the `update:` mapping, or the one given), then
    # reads them back into the record (attributes you changed and did not save are kept).
    def crawl_and_update(mapping = nil, **options, &block)
      stats = ucrawler_relation.crawl_and_update(mapping, **options, &block)
      ucrawler_refresh
      stats
    end

    # Enqueues one job for this record (see the class method).
    def crawl_later(**options)
      ucrawler_relation.crawl_later(**options)
    end

    private

    def ucrawler_relation
      raise ConfigError, "#{self.class.name}: save the record before crawling it (it has no id yet)" if new_record?

      self.class.unscoped.where(self.class.primary_key => id)
    end

    def ucrawler_refresh
      fresh = self.class.unscoped.find_by(self.class.primary_key => id)
      return unless fresh

      names = fresh.attribute_names.reject { |name| attribute_changed?(name) }
      names.each { |name| self[name] = fresh[name] }
      clear_attribute_changes(names)
    end
  end
end

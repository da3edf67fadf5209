# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # What `crawl_and_update` writes for a row whose URL column is nil or empty: a page that was
    # never fetched, with error kind :no_url (so an error column says why, and a `:now` column
    # marks the row: `where(crawled_at: nil)` does not pick it up again). It answers the readers
    # a mapping or a callable uses, like UcrawlerNative::Page.
    class NoUrlPage
      EMPTY_LIST = [].freeze
      EMPTY_HASH = {}.freeze

      attr_reader :meta, :error

      def initialize(id, column)
        @meta = id
        @error = PageError.new(:no_url, "no URL in column #{column}").freeze
      end

      # `change` nil: a visit that tells nothing (a recrawl keeps the row's validators).
      %i[url final_url status content_type title description canonical duplicate_of lastmod body change etag last_modified content_hash].each do |name|
        define_method(name) { nil }
      end

      %i[depth bytes attempts].each { |name| define_method(name) { 0 } }
      %i[elapsed fetch_time parse_time render_time].each { |name| define_method(name) { 0.0 } }
      %i[ok? truncated? noindex? nofollow? changed? unchanged? gone? rendered? rendered].each { |name| define_method(name) { false } }

      def links = EMPTY_LIST

      def nofollow_links = EMPTY_LIST

      def json_ld = EMPTY_LIST

      def json_ld_errors = EMPTY_LIST

      def json_ld_types = EMPTY_LIST

      def open_graph = EMPTY_HASH

      def structured(_path) = nil

      def last_visit = { etag: nil, last_modified: nil, content_hash: nil }

      def extracted = EMPTY_HASH

      def headers = EMPTY_HASH

      def [](_name) = nil

      def to_h
        (Page::FIELDS + Page::DECLARED).to_h { |field| [field, field == :error ? error.to_h : public_send(field)] }
      end

      def inspect
        "#<#{self.class.name} #{@meta.inspect} error=no_url>"
      end
    end
  end
end

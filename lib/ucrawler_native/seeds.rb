# frozen_string_literal: true

require "time"

module UcrawlerNative
  # What callers may give as a seed: a URL String (or anything with #to_str), a [url, meta]
  # pair, or a revisit: [url, meta, last_visit] where last_visit is a Hash of what the last
  # visit learned (`etag:`, `last_modified:`, `content_hash:`, as `page.last_visit` gives them;
  # `last_modified` may also be a Time). A revisit is fetched conditionally and its page says
  # what `change`d; a last_visit with no value at all is no revisit (a row never crawled). The
  # engine takes [url, encoded meta] or [url, encoded meta, [etag, last_modified, hash]].
  module Seeds
    LAST_VISIT_KEYS = %i[etag last_modified content_hash].freeze

    module_function

    # The seeds `urls` names: a String is one URL, anything else must be Enumerable (consumed
    # incrementally by the caller, never turned into an Array here).
    def enumerable(urls)
      return [urls] if urls.is_a?(String)
      raise TypeError, "urls must be a String or an Enumerable (got #{urls.class})" unless urls.respond_to?(:each)

      urls
    end

    def pair(item, default_meta)
      case item
      when String then [item, default_meta]
      when Array
        url, meta, last_visit = item
        raise TypeError, "a seed must be [url String, meta(, last_visit Hash)] (got #{item.inspect})" unless url.is_a?(String) && item.size <= 3

        seed = [url, meta.nil? ? default_meta : Meta.encode(meta)]
        validators = last_visit(last_visit)
        validators ? seed << validators : seed
      else
        raise TypeError, "each seed must be a URL String or [url, meta] (got #{item.inspect})" unless item.respond_to?(:to_str)

        [item.to_str, default_meta]
      end
    end

    # [etag, last_modified, content_hash] Strings (or nils), or nil when nothing is known.
    def last_visit(hash)
      return nil if hash.nil?
      raise TypeError, "a seed's last visit must be a Hash (got #{hash.inspect})" unless hash.is_a?(Hash)

      unknown = hash.keys.map(&:to_sym) - LAST_VISIT_KEYS
      raise ArgumentError, "unknown last visit keys: #{unknown.join(", ")} (known: #{LAST_VISIT_KEYS.join(", ")})" unless unknown.empty?

      values = LAST_VISIT_KEYS.map { |key| validator(key, hash[key] || hash[key.to_s]) }
      values.any? ? values : nil
    end

    def validator(key, value)
      case value
      when nil then nil
      when String then value.empty? ? nil : value
      when Time, DateTime
        raise TypeError, "#{key} must be a String (got #{value.class})" unless key == :last_modified

        value.to_time.httpdate
      else raise TypeError, "#{key} must be a String#{" or a Time" if key == :last_modified} (got #{value.class})"
      end
    end
  end
end

# frozen_string_literal: true

module UcrawlerNative
  # What callers may give as a seed: a URL String (or anything with #to_str) or a [url, meta]
  # pair; the engine takes [url, encoded meta] pairs.
  module Seeds
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
        url, meta = item
        raise TypeError, "a seed pair must be [url String, meta] (got #{item.inspect})" unless url.is_a?(String)

        [url, meta.nil? ? default_meta : Meta.encode(meta)]
      else
        raise TypeError, "each seed must be a URL String or [url, meta] (got #{item.inspect})" unless item.respond_to?(:to_str)

        [item.to_str, default_meta]
      end
    end
  end
end

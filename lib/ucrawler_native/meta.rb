# frozen_string_literal: true

module UcrawlerNative
  # `meta` travels through the engine as opaque bytes and comes back with each page (and with the
  # pages discovered from it). Integers (record ids) and Strings round-trip with their type.
  module Meta
    module_function

    def encode(value)
      case value
      when nil then nil
      when Integer then "i#{value}"
      when String then "s".b + value.b
      when Symbol then "y#{value}"
      else raise TypeError, "meta must be an Integer, String, Symbol or nil (got #{value.class})"
      end
    end

    def decode(bytes)
      return nil if bytes.nil?

      tag = bytes[0]
      rest = bytes.byteslice(1, bytes.bytesize - 1)
      case tag
      when "i" then Integer(rest, 10)
      when "y" then rest.force_encoding(Encoding::UTF_8).to_sym
      else rest.force_encoding(Encoding::UTF_8).freeze
      end
    end
  end
end

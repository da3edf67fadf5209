# frozen_string_literal: true

require "pathname"

module UcrawlerNative
  # Keyword options → the engine's JSON config. Option names and defaults come from the engine
  # itself (one source of truth); here we only check Ruby types so that a mistake raises at once
  # with the option's name, and convert Ruby values (Regexp, Symbol keys) to what the engine reads.
  module Options
    # Sizes accept Integer bytes or a String such as "64MiB".
    SIZES = %i[max_body max_memory render_memory].freeze
    # Options that may be nil (meaning none / unlimited), with the type they take otherwise.
    # Choices that also take true or false (`sitemaps: true` is "on").
    BOOLEAN_CHOICES = { sitemaps: { true => "on", false => "off" },
                        render: { true => "always", false => "never" } }.freeze
    NULLABLE = { depth: :integer, max_pages: :integer, max_pages_per_host: :integer, max_pages_per_seed: :integer,
                 deadline: :duration, proxy: :string,
                 state_dir: :string, redis: :string, name: :string,
                 render_wait_for: :string, render_browser: :string }.freeze

    module_function

    # The engine's defaults: `{ concurrency: 64, per_host: 2, ... }`.
    def defaults
      @defaults ||= JSON.parse(Native.default_config_json, symbolize_names: true).freeze
    end

    def names
      defaults.keys
    end

    # Validates `options` and returns the Hash to send to the engine.
    def normalize(options)
      options.each_with_object({}) do |(name, value), out|
        name = name.to_sym
        unless defaults.key?(name)
          raise ArgumentError, "unknown option #{name.inspect} (known options: #{names.join(", ")})"
        end

        out[name] = convert(name, value, defaults[name])
      end
    end

    def convert(name, value, default)
      return size(name, value) if SIZES.include?(name)
      return BOOLEAN_CHOICES[name][value] if BOOLEAN_CHOICES.key?(name) && [true, false].include?(value)

      if NULLABLE.key?(name)
        return nil if value.nil?

        return public_send(NULLABLE[name], name, value)
      end

      case default
      when true, false then boolean(name, value)
      when Float then duration(name, value)
      when Integer, nil then integer(name, value)
      when String then string(name, value)
      when Array then list(name, value)
      when Hash then name == :extract ? extract_rules(value) : string_hash(name, value)
      else value
      end
    end

    def boolean(name, value)
      return value if [true, false].include?(value)

      raise TypeError, "option #{name.inspect} must be true or false (got #{value.inspect})"
    end

    def integer(name, value)
      raise TypeError, "option #{name.inspect} must be an Integer (got #{value.inspect})" unless value.is_a?(Integer)
      raise ArgumentError, "option #{name.inspect} must not be negative (got #{value})" if value.negative?

      value
    end

    # Seconds (any Numeric, an ActiveSupport::Duration such as `2.seconds` or
    # `250.milliseconds` included: it answers is_a?(Numeric) though `Numeric === it` is false)
    # or a String with a unit ("500ms").
    def duration(name, value)
      return value if value.is_a?(String)
      unless value.is_a?(Numeric)
        raise TypeError, "option #{name.inspect} must be seconds (Numeric, or a duration such as 2.seconds) " \
                         "or a String like \"500ms\" (got #{value.inspect})"
      end
      raise ArgumentError, "option #{name.inspect} must not be negative (got #{value.inspect})" if value.negative?

      value.to_f
    end

    # Bytes (an Integer, `5.megabytes`, or a whole Float such as `1.5.megabytes`) or a String
    # with a unit ("10MiB").
    def size(name, value)
      return value if value.is_a?(String)

      bytes = value.to_i if value.is_a?(Integer) || (value.is_a?(Float) && value.finite? && value == value.floor)
      unless bytes
        raise TypeError, "option #{name.inspect} must be bytes (an Integer, e.g. 5.megabytes) or a String like " \
                         "\"10MiB\" (got #{value.inspect})"
      end
      raise ArgumentError, "option #{name.inspect} must not be negative (got #{value.inspect})" if bytes.negative?

      bytes
    end

    # Symbols too, for options that name a choice (`private_addresses: :deny`), and Pathnames.
    def string(name, value)
      return value.to_s if value.is_a?(Symbol) || value.is_a?(Pathname)
      raise TypeError, "option #{name.inspect} must be a String (got #{value.inspect})" unless value.is_a?(String)

      value
    end

    def list(name, value)
      Array(value).map do |item|
        case item
        when Regexp then item.source
        when String, Symbol then item.to_s
        else raise TypeError, "option #{name.inspect} takes Strings or Regexps (got #{item.inspect})"
        end
      end
    end

    def string_hash(name, value)
      raise TypeError, "option #{name.inspect} must be a Hash (got #{value.inspect})" unless value.is_a?(Hash)

      value.to_h { |k, v| [k.to_s, v.to_s] }
    end

    def extract_rules(value)
      raise TypeError, "option :extract must be a Hash of name => selector (got #{value.inspect})" unless value.is_a?(Hash)

      value.to_h do |rule, spec|
        case spec
        when String then [rule.to_s, spec]
        when Array
          unless spec.size == 2 && spec.all?(String)
            raise ArgumentError, "extract rule #{rule.inspect} must be \"selector\" or [\"selector\", \"attribute\"]"
          end

          [rule.to_s, spec]
        else raise TypeError, "extract rule #{rule.inspect} must be a String or [selector, attribute] (got #{spec.inspect})"
        end
      end
    end
  end
end

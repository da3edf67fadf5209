# frozen_string_literal: true

module UcrawlerNative
  # Base of the gem's runtime errors. Page failures are not raised: they arrive as `page.error`.
  class Error < StandardError
    # `rescue UcrawlerNative::Error` also catches ConfigError, which is an ArgumentError (bad
    # arguments are ArgumentErrors in Ruby) and so cannot inherit from this class.
    def self.===(other)
      super || other.is_a?(ConfigError)
    end
  end

  # An option that cannot work; the message names it. Raised by `Crawler.new`.
  class ConfigError < ArgumentError; end

  # A bug inside the native engine (a caught Rust panic). The process stays up.
  class InternalError < Error; end

  # What an operation names does not exist: a shared crawl unknown under its Redis prefix, or no
  # Redis configured (the dashboard's actions answer 404 with the message).
  class NotFoundError < Error; end

  # Why a page failed: `kind` is a Symbol such as :timeout, :http_status, :robots_disallowed.
  PageError = Struct.new(:kind, :message) do
    def to_s
      "#{kind}: #{message}"
    end

    def to_h
      { kind: kind, message: message }
    end
  end
end

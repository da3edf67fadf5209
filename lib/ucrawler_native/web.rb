# frozen_string_literal: true

require "rack"
require_relative "../ucrawler_native"
require_relative "web/reply"
require_relative "web/access"
require_relative "web/csrf"
require_relative "web/assets"
require_relative "web/api"
require_relative "web/router"
require_relative "web/sidekiq_tab"

module UcrawlerNative
  # The operations dashboard as a Rack app: the crawls running in this process and the shared
  # (Redis) crawls, live, with pause / resume / cancel / requeue failed. In config/routes.rb:
  #
  #   mount UcrawlerNative::Web => "/crawler"
  #
  # **Locked by default**: every route answers 403 until the app says who may use it, with one of
  #
  #   UcrawlerNative::Web.authorize { |request| request.env["warden"]&.user&.admin? } # a Rack::Request
  #   UcrawlerNative::Web.basic_auth(ENV["DASHBOARD_USER"], ENV["DASHBOARD_PASSWORD"])
  #   UcrawlerNative::Web.access = :routes # a route constraint around the mount decides
  #
  # (the last one called wins; `access = nil` locks it again). Where shared crawls live:
  # `UcrawlerNative::Web.redis = "redis://..."`, `.redis_prefix = "ucrawler"` (by default those
  # of `UcrawlerNative.defaults`, i.e. `config.ucrawler_native.redis` / `.redis_prefix`).
  class Web
    DEFAULT_PREFIX = "ucrawler"

    class << self
      # Lets a request in when the block returns a truthy value (it receives the Rack::Request);
      # others get 403.
      def authorize(&block)
        raise ArgumentError, "UcrawlerNative::Web.authorize needs a block taking the Rack::Request" unless block

        @access = [:authorize, block]
      end

      # HTTP basic authentication with this user and password (401 asking for them otherwise).
      def basic_auth(user, password)
        { user: user, password: password }.each do |key, value|
          raise ConfigError, "basic_auth: #{key} must be a non-empty String" unless value.is_a?(String) && !value.empty?
        end

        @access = [:basic_auth, Access.digest(user), Access.digest(password)]
      end

      # `:routes`: access is decided by the app's routes (a constraint or Devise's
      # `authenticate` around the mount); nil: locked again.
      def access=(mode)
        raise ConfigError, "UcrawlerNative::Web.access must be :routes or nil (got #{mode.inspect})" unless [:routes, nil].include?(mode)

        @access = mode
      end

      # :locked, :routes, :authorize or :basic_auth.
      def access
        @access.nil? ? :locked : Array(@access).first
      end

      # The access rule as Access reads it (nil: locked).
      def access_rule = @access

      def redis=(url)
        raise TypeError, "UcrawlerNative::Web.redis must be a String or nil (got #{url.class})" unless url.nil? || url.is_a?(String)

        @redis = url&.dup&.freeze
      end

      def redis_prefix=(prefix)
        raise TypeError, "UcrawlerNative::Web.redis_prefix must be a String or nil (got #{prefix.class})" unless prefix.nil? || prefix.is_a?(String)

        @redis_prefix = prefix&.dup&.freeze
      end

      # The Redis of the shared crawls shown: the one set here, else `UcrawlerNative.defaults[:redis]`.
      def redis
        @redis || UcrawlerNative.defaults[:redis]
      end

      def redis_prefix
        @redis_prefix || UcrawlerNative.defaults[:redis_prefix] || DEFAULT_PREFIX
      end

      # The CSRF tokens' secret: the one set here, else Rails' secret_key_base, else a random one
      # of this process (set one when several processes without Rails serve the dashboard).
      attr_writer :secret

      def secret
        @secret || Csrf.default_secret
      end

      # A "Crawler" tab in Sidekiq's Web UI (Sidekiq::Web must be loaded) leading to the
      # dashboard mounted at `path` (e.g. "/crawler").
      def sidekiq_tab!(path, title: "Crawler")
        SidekiqTab.install(path: path, title: title)
      end

      # The Rack entry point (`mount UcrawlerNative::Web => ...` mounts the class itself).
      def call(env)
        Router.call(env, settings: self)
      end

      # Forgets every setting (locked again): for tests.
      def reset!
        @access = @redis = @redis_prefix = @secret = nil
      end
    end

    # `UcrawlerNative::Web.new` is usable as a Rack app too, with the class's settings.
    def call(env)
      self.class.call(env)
    end
  end
end

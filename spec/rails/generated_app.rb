# frozen_string_literal: true

require "fileutils"

module RailsSpec
  # A bare Rails 6.1 application in a directory of its own, as an app using the gem has one
  # (config/, bin/rails, Rakefile, app/models, db/), without Bundler: the machine's gems and
  # this checkout's lib/. Its database is a SQLite file of its own; `rails` runs bin/rails in it.
  # For the install generator's specs: `bin/rails generate`, `db:migrate`, `runner` for real.
  class GeneratedApp
    include SiteHelpers

    FILES = {
      "config/boot.rb" => <<~RUBY,
        # frozen_string_literal: true

        $LOAD_PATH.unshift(%<lib>p)
      RUBY
      "config/application.rb" => <<~RUBY,
        # frozen_string_literal: true

        require_relative "boot"
        require "logger"
        require "rails"
        require "active_record/railtie"
        require "active_job/railtie"
        require "ucrawler_native/rails"

        module GeneratedApp
          class Application < Rails::Application
            config.load_defaults 6.1
            config.root = File.expand_path("..", __dir__)
            config.eager_load = false
            config.secret_key_base = "generated-app"
            config.logger = Logger.new(File.expand_path("../log/app.log", __dir__))
            config.active_job.queue_adapter = :inline
          end
        end
      RUBY
      "config/environment.rb" => <<~RUBY,
        # frozen_string_literal: true

        require_relative "application"
        Rails.application.initialize!
      RUBY
      "config/routes.rb" => <<~RUBY,
        Rails.application.routes.draw do
          # For details on the DSL available within this file, see https://guides.rubyonrails.org/routing.html
        end
      RUBY
      "Rakefile" => <<~RUBY,
        # frozen_string_literal: true

        require_relative "config/application"
        Rails.application.load_tasks
      RUBY
      "bin/rails" => <<~RUBY,
        #!/usr/bin/env ruby
        # frozen_string_literal: true

        APP_PATH = File.expand_path("../config/application", __dir__)
        require_relative "../config/boot"
        require "rails/commands"
      RUBY
      "app/models/application_record.rb" => <<~RUBY
        # frozen_string_literal: true

        class ApplicationRecord < ActiveRecord::Base
          self.abstract_class = true
        end
      RUBY
    }.freeze

    attr_reader :root

    def initialize(root:)
      @root = root
    end

    def create
      FILES.each { |path, text| write(path, text.sub("%<lib>p", File.join(TestSite::ROOT, "lib").inspect)) }
      File.chmod(0o755, path("bin/rails"))
      FileUtils.mkdir_p([path("db"), path("log"), path("config/initializers")])
      self
    end

    def path(relative)
      File.join(@root, relative)
    end

    def read(relative)
      File.read(path(relative))
    end

    def write(relative, text)
      FileUtils.mkdir_p(File.dirname(path(relative)))
      File.write(path(relative), text)
    end

    def database_url
      "sqlite3:#{path("db/development.sqlite3")}"
    end

    # `bin/rails *args` in the app: [output (stdout and stderr), Process::Status].
    def rails(*args, env: {}, limit: 90)
      env = { "DATABASE_URL" => database_url, "RAILS_ENV" => "development", "RUBYOPT" => nil,
              "BUNDLE_GEMFILE" => nil, "DISABLE_SPRING" => "1" }.merge(env)
      output, status, = run_command(env, RbConfig.ruby, path("bin/rails"), *args, limit: limit, chdir: @root)
      [output, status]
    end
  end
end
